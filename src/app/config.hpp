#pragma once
// The hub's settings after every source was merged (see ConfigLoader), and the parsers for the
// value syntaxes users type: Go-style durations, booleans, lists, listen addresses.
// Plain data: built once at start-up, then read-only (safe to share between threads).
// The table of every setting, with its flag, environment names and directive: docs/configuration.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

// The development key everyone copies from the reference's documentation; only --dev uses it.
inline constexpr std::string_view kDevJwtKey = "!ChangeThisMercureHubJWTSecretKey!";

struct JwtRole {
  std::string key;  // HMAC secret, or a PEM public key (real newlines; literal "\n" escapes are unfolded)
  std::string algorithm = "HS256";  // JOSE name, validated by ConfigLoader (parse_jwt_algorithm)
  // A JSON Web Key Set (https://, http:// or file://) holding the role's keys; when set, `key`
  // and `algorithm` are unused (as in the reference hub, the key set wins).
  std::string jwks_url;
};

struct Config {
  std::string listen_host;           // empty = all interfaces (IPv4 and IPv6); never bracketed
  std::uint16_t listen_port = 3000;  // 0 = an ephemeral port chosen by the kernel
  unsigned workers = 0;              // 0 = one per core; at most 1024

  JwtRole publisher_jwt;                     // key required (ConfigLoader checks), except with --dev
  JwtRole subscriber_jwt;                    // key required unless anonymous, except with --dev
  bool anonymous = false;                    // subscribers without a token may receive public updates
  bool subscriptions = false;                // subscription events and the subscriptions API
  std::vector<std::string> cors_origins;     // "*" allows any origin
  std::vector<std::string> publish_origins;  // CSRF allowlist for cookie-authenticated publishing; "*" allowed
  std::string cookie_name = "mercureAuthorization";

  std::chrono::milliseconds heartbeat{40'000};           // 0 = no heartbeats
  std::chrono::milliseconds write_timeout{600'000};      // maximum life of a connection; 0 = none
  std::chrono::milliseconds dispatch_timeout{5'000};     // maximum duration of one write; 0 = none
  std::chrono::milliseconds read_timeout{5'000};         // time to read a whole request; 0 = none
  std::chrono::milliseconds read_header_timeout{5'000};  // time to read a request's head; 0 = none
  std::chrono::milliseconds idle_timeout{120'000};       // wait for the next request when kept alive; 0 = none

  // Limits (docs/configuration.md, "Limits"). For the counts, 0 = no limit.
  std::uint64_t max_body_size = 1024 * 1024;  // bytes; over: 413
  std::uint64_t max_header_size = 16 * 1024;  // bytes of the request line and headers; over: 431
  std::uint64_t max_topics = 1000;            // topics per update; over: 413
  std::uint64_t max_selectors = 1000;         // topic selectors per subscription; over: 400
  std::uint64_t max_topic_length = 8 * 1024;  // bytes of one topic or selector; over: 413 / 400
  std::uint64_t max_connections = 0;          // 0 = automatic (from the open-file limit, see main.cpp)
  std::uint64_t max_connections_per_ip = 0;   // per IPv4 address or IPv6 /64; over: 429
  std::uint64_t max_streams_per_token = 0;    // concurrent event streams per token; over: 429

  // scheme://...; the default is the durable LMDB store ./mercure.lmdb; "local://" keeps no history
  std::string transport_url = "lmdb://mercure.lmdb";

  bool ui = false;
  bool demo = false;
  bool io_uring = true;             // batched event-stream sends (http/send_ring.hpp); falls back when unavailable
  bool debug = false;               // debug logs (the reference warns: not for production)
  std::string log_format = "text";  // "text" or "json" (always lower case here)
  bool use_forwarded_headers = false;
  bool metrics_enabled = false;
  std::string metrics_addr;  // empty = /metrics on the main listener; else only on this address
  // Caddy's `servers { metrics }` turned them on (and nothing else did): as in Caddy, /metrics
  // only on the admin endpoint, not on the hub's public port.
  bool metrics_admin_only = false;
  std::string cert_file;  // both or neither
  std::string key_file;
  // SERVER_NAME or the Caddyfile's site address, as written (empty: none). A name that takes
  // automatic HTTPS (SiteAddress::automatic_https) without cert_file: the certificate is
  // obtained from acme_ca (see acme()).
  std::string site;
  // The prefixes a Caddyfile's `handle_path /hub/*` blocks and `uri strip_prefix` directives
  // remove before the mercure block, in order ({"/hub"}: /hub/.well-known/mercure). Empty: none.
  std::vector<std::string> path_prefixes;
  std::string acme_email;
  std::string acme_ca = "https://acme-v02.api.letsencrypt.org/directory";
  std::string acme_ca_root;                       // PEM CAs for acme_ca's HTTPS; empty: the system's
  std::string acme_dir = "mercure-certificates";  // account key, certificates and keys
  // Caddy's global option: "off" or "disable_certs" turn the ACME certificates off.
  std::string auto_https = "on";
  // Caddy's global option http_port: where a site served over HTTPS under its name also listens
  // in plain HTTP, to redirect there and answer ACME HTTP-01 challenges (see redirect_domain()).
  std::uint16_t http_port = 80;
  // Caddy's admin address (global option `admin`, CADDY_ADMIN): the health checks, /metrics and
  // POST /stop the reference's deployments call (http/admin_handler.hpp). Empty: off.
  std::string admin = "localhost:2019";
  // Caddy's global option grace_period (GRACE_PERIOD): on SIGTERM, how long the event streams may
  // run to their own end of life before they are ended. Unset: until then (at most write_timeout)
  // with a shared transport (Redis: other hubs still feed them), at once otherwise.
  std::optional<std::chrono::milliseconds> grace_period;
  // PROTOCOLS (Caddy's names): h2 = HTTP/2 over TLS (ALPN), h2c = HTTP/2 in clear text with prior
  // knowledge; h1 is always served. h3 is accepted and not served (a warning says so).
  bool h2 = true;
  bool h2c = false;
  bool h3_asked = false;
  bool dev = false;  // --dev was given (its effects are already applied above)

  // The domain whose certificate is obtained automatically, or empty when there is none to obtain
  // (certificate files given, auto_https off, no public name, or the listener on port 80).
  [[nodiscard]] std::string acme_domain() const;
  // The name HTTP requests on http_port are redirected to (HTTPS), or empty when http_port is not
  // served: as Caddy, for a site served over HTTPS under a public name (an obtained certificate or
  // certificate files), unless auto_https is off or disable_redirects.
  [[nodiscard]] std::string redirect_domain() const;
};

// A bad setting found at start-up. what() is one line, without the program name, e.g.
// `invalid HEARTBEAT_INTERVAL "4x": not a duration (examples: 40s, 500ms)`.
// setting() is the name as the user wrote it: "HEARTBEAT_INTERVAL", "--heartbeat", "heartbeat".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string setting, const std::string& message)
      : std::runtime_error(message), setting_(std::move(setting)) {}
  [[nodiscard]] const std::string& setting() const noexcept { return setting_; }

 private:
  std::string setting_;
};

// The value parsers below throw std::invalid_argument whose what() is only the reason
// ("not a duration (examples: 40s, 500ms)"); the loader adds the setting's name and value.

// Go's time.ParseDuration syntax: a sequence of decimal numbers, each with an optional fraction
// and a unit among ns, us (also µs), ms, s, m, h; plus Caddy's d (24h). "0" alone is allowed.
// Decisions: a bare integer other than 0 is an error (Go rejects it; the legacy hub read it as
// nanoseconds, which nobody means); a negative duration is an error; a non-zero duration under
// one millisecond rounds UP to 1ms, so it never silently becomes 0 (= disabled); at most 292 years.
[[nodiscard]] std::chrono::milliseconds parse_duration(std::string_view text);

// The inverse, for help and messages: "40s", "1m30s", "500ms", "0s".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

// A byte size: a whole number, optionally followed by a unit: B, KB/MB/GB (powers of 1000),
// KiB/MiB/GiB (powers of 1024), any case, blanks allowed before the unit ("1MiB", "512 KB", "8192").
// At most 2^63 bytes.
[[nodiscard]] std::uint64_t parse_size(std::string_view text);

// A count: a whole number, digits only (at most 18 of them).
[[nodiscard]] std::uint64_t parse_count(std::string_view text);

// 1/0, true/false, yes/no, on/off, case-insensitive, surrounding blanks ignored.
[[nodiscard]] bool parse_bool(std::string_view text);

// Items separated by spaces, tabs, newlines and/or commas; empty items dropped.
[[nodiscard]] std::vector<std::string> parse_list(std::string_view text);

// A PEM document written on one line with literal "\n" (or "\r\n") escapes, as .env and compose
// files force, gets its newlines back. Anything else (HMAC secrets included) is returned unchanged.
[[nodiscard]] std::string unfold_pem(std::string key);

struct ListenAddress {
  std::string host;  // empty = all interfaces; IPv6 without brackets
  std::uint16_t port = 0;
};

// ADDR syntax: "host:port", ":port", "[v6]:port"; the port is 0-65535, "http" (80) or
// "https" (443). A missing port is an error.
[[nodiscard]] ListenAddress parse_listen_address(std::string_view text);

// SERVER_NAME / Caddyfile site address syntax: optional "http://" or "https://", then
// "host", "host:port", ":port" or "[v6]:port". Several addresses ("a, b") are an error.
struct SiteAddress {
  std::string scheme;  // "", "http" or "https"
  std::string host;    // lower case; empty: any
  std::optional<std::uint16_t> port;
  // As Caddy: a name a public CA certifies, not after "http://" nor on port 80 without a scheme:
  // the hub obtains its certificate (ACME) when no certificate file is given.
  [[nodiscard]] bool automatic_https() const;
};
[[nodiscard]] SiteAddress parse_site_address(std::string_view text);

// A DNS name a public CA issues certificates for: a dot inside, no wildcard, not an IP address,
// not localhost nor under .localhost, .local, .internal or .home.arpa.
[[nodiscard]] bool public_certificate_name(std::string_view host);

// The port of a site address. Like Caddy, the host names the site, it does not restrict the bind:
// the result always has an empty host (all interfaces). No port: 443 after "https://" or for a
// name with automatic HTTPS (see SiteAddress), else 80.
[[nodiscard]] ListenAddress parse_server_name(std::string_view text);

// The first of Caddy's several site addresses (`localhost, caddy:80`, separated by commas or
// spaces), once every one of them is checked to be served the same way: the same port and
// scheme, and no public name (a certificate is obtained for one name). One address: itself.
// Throws std::invalid_argument otherwise.
[[nodiscard]] std::string primary_site_address(std::string_view text);

// `s` without the spaces, tabs, CRs and LFs around it.
[[nodiscard]] std::string_view trim(std::string_view s);

}  // namespace mercure
