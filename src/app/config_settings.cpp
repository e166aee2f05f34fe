#include "app/config_settings.hpp"

#include <cstdint>
#include <stdexcept>

namespace mercure::settings {

namespace {

constexpr SettingSpec kSettings[] = {
    {"addr", Kind::kAddress},
    {"workers", Kind::kWorkers},
    {"publisher_jwt_key", Kind::kSecret},
    {"publisher_jwt_algorithm", Kind::kString},
    {"subscriber_jwt_key", Kind::kSecret},
    {"subscriber_jwt_algorithm", Kind::kString},
    {"anonymous", Kind::kBool},
    {"subscriptions", Kind::kBool},
    {"cors_origins", Kind::kList},
    {"publish_origins", Kind::kList},
    {"cookie_name", Kind::kString},
    {"heartbeat", Kind::kDuration},
    {"write_timeout", Kind::kDuration},
    {"dispatch_timeout", Kind::kDuration},
    {"read_timeout", Kind::kDuration},
    {"read_header_timeout", Kind::kDuration},
    {"idle_timeout", Kind::kDuration},
    {"max_body_size", Kind::kSize},
    {"max_header_size", Kind::kSize},
    {"max_topics", Kind::kCount},
    {"max_selectors", Kind::kCount},
    {"max_topic_length", Kind::kSize},
    {"max_connections", Kind::kCount},
    {"max_connections_per_ip", Kind::kCount},
    {"max_streams_per_token", Kind::kCount},
    {"transport_url", Kind::kString},
    {"ui", Kind::kBool},
    {"demo", Kind::kBool},
    {"debug", Kind::kBool},
    {"log_format", Kind::kString},
    {"use_forwarded_headers", Kind::kBool},
    {"metrics_enabled", Kind::kBool},
    {"metrics_addr", Kind::kString},
    {"cert_file", Kind::kString},
    {"key_file", Kind::kString},
};

}  // namespace

const SettingSpec* find_setting(std::string_view key) {
  for (const auto& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

const std::vector<Input>& inputs() {
  static const std::vector<Input> kInputs = {
      {{"addr"},
       1,
       "--addr",
       {"ADDR"},
       "ADDR",
       ":3000",
       "address to listen on: host:port, :port (all interfaces) or [v6]:port; port 0 = any free port"},
      {{"addr"}, 0, "", {"SERVER_NAME"}, "", "", "", true},
      {{"workers"}, 1, "--workers", {"WORKERS"}, "N", "0", "worker threads (one event loop each); 0 = one per core"},
      {{"publisher_jwt_key", "subscriber_jwt_key"},
       0,
       "--jwt-key",
       {"JWT_KEY"},
       "KEY",
       "",
       "JWT key of publishers and subscribers: an HMAC secret or a PEM public key"},
      {{"publisher_jwt_algorithm", "subscriber_jwt_algorithm"},
       0,
       "--jwt-algorithm",
       {"JWT_ALGORITHM"},
       "ALG",
       "HS256",
       "JWT algorithm of publishers and subscribers: HS256/384/512, RS*, PS*, ES*, EdDSA"},
      {{"publisher_jwt_key"},
       1,
       "--publisher-jwt-key",
       {"PUBLISHER_JWT_KEY", "MERCURE_PUBLISHER_JWT_KEY"},
       "KEY",
       "",
       "JWT key of publishers (overrides --jwt-key); required outside --dev"},
      {{"publisher_jwt_algorithm"},
       1,
       "--publisher-jwt-algorithm",
       {"PUBLISHER_JWT_ALGORITHM", "MERCURE_PUBLISHER_JWT_ALG"},
       "ALG",
       "HS256",
       "JWT algorithm of publishers"},
      {{"subscriber_jwt_key"},
       1,
       "--subscriber-jwt-key",
       {"SUBSCRIBER_JWT_KEY", "MERCURE_SUBSCRIBER_JWT_KEY"},
       "KEY",
       "",
       "JWT key of subscribers (overrides --jwt-key); required unless anonymous"},
      {{"subscriber_jwt_algorithm"},
       1,
       "--subscriber-jwt-algorithm",
       {"SUBSCRIBER_JWT_ALGORITHM", "MERCURE_SUBSCRIBER_JWT_ALG"},
       "ALG",
       "HS256",
       "JWT algorithm of subscribers"},
      {{"anonymous"},
       1,
       "--allow-anonymous,--anonymous",
       {"ALLOW_ANONYMOUS"},
       "BOOL",
       "false",
       "let subscribers without a token receive public updates"},
      {{"subscriptions"},
       1,
       "--subscriptions",
       {"SUBSCRIPTIONS"},
       "BOOL",
       "false",
       "publish subscription events and serve the subscriptions API"},
      {{"cors_origins"},
       1,
       "--cors-allowed-origins,--cors-origins",
       {"CORS_ALLOWED_ORIGINS"},
       "ORIGINS",
       "",
       "origins allowed by CORS, separated by spaces or commas; * = any"},
      {{"publish_origins"},
       1,
       "--publish-allowed-origins,--publish-origins",
       {"PUBLISH_ALLOWED_ORIGINS"},
       "ORIGINS",
       "",
       "origins allowed to publish with cookie authorization; * = any"},
      {{"cookie_name"},
       1,
       "--cookie-name",
       {"COOKIE_NAME"},
       "NAME",
       "mercureAuthorization",
       "name of the authorization cookie"},
      {{"heartbeat"},
       1,
       "--heartbeat-interval,--heartbeat",
       {"HEARTBEAT_INTERVAL"},
       "DURATION",
       "40s",
       "interval between heartbeat comments; 0 disables"},
      {{"write_timeout"},
       1,
       "--write-timeout",
       {"WRITE_TIMEOUT"},
       "DURATION",
       "600s",
       "maximum life of a subscription stream (jittered); 0 disables"},
      {{"dispatch_timeout"},
       1,
       "--dispatch-timeout",
       {"DISPATCH_TIMEOUT"},
       "DURATION",
       "5s",
       "maximum duration of one write to a subscriber; 0 disables"},
      {{"read_timeout"},
       1,
       "--read-timeout",
       {"READ_TIMEOUT"},
       "DURATION",
       "5s",
       "maximum duration to read a whole request; 0 disables"},
      {{"read_header_timeout"},
       1,
       "--read-header-timeout",
       {"READ_HEADER_TIMEOUT"},
       "DURATION",
       "5s",
       "maximum duration to read a request's head (from the accept, or its first byte); 0 disables"},
      {{"idle_timeout"},
       1,
       "--idle-timeout",
       {"IDLE_TIMEOUT"},
       "DURATION",
       "2m0s",
       "maximum wait for the next request on a kept-alive connection; 0 disables"},
      {{"max_body_size"}, 1, "--max-body-size", {"MAX_BODY_SIZE"}, "SIZE", "1MiB", "maximum request body (413 beyond)"},
      {{"max_header_size"},
       1,
       "--max-header-size",
       {"MAX_HEADER_SIZE"},
       "SIZE",
       "16KiB",
       "maximum request line and headers, 1KiB-64KiB (431 beyond)"},
      {{"max_topics"},
       1,
       "--max-topics",
       {"MAX_TOPICS"},
       "N",
       "1000",
       "maximum topics per update (413 beyond); 0 = none"},
      {{"max_selectors"},
       1,
       "--max-selectors",
       {"MAX_SELECTORS"},
       "N",
       "1000",
       "maximum topic selectors per subscription (400 beyond); 0 = none"},
      {{"max_topic_length"},
       1,
       "--max-topic-length",
       {"MAX_TOPIC_LENGTH"},
       "SIZE",
       "8KiB",
       "maximum length of one topic or selector (413 or 400 beyond); 0 = none"},
      {{"max_connections"},
       1,
       "--max-connections",
       {"MAX_CONNECTIONS"},
       "N",
       "0",
       "maximum open connections (429 beyond); 0 = the open-file limit minus a reserve"},
      {{"max_connections_per_ip"},
       1,
       "--max-connections-per-ip",
       {"MAX_CONNECTIONS_PER_IP"},
       "N",
       "0",
       "maximum open connections per client IPv4 address or IPv6 /64 (429 beyond); 0 = none"},
      {{"max_streams_per_token"},
       1,
       "--max-streams-per-token",
       {"MAX_STREAMS_PER_TOKEN"},
       "N",
       "0",
       "maximum concurrent event streams opened with the same token (429 beyond); 0 = none"},
      {{"transport_url"},
       1,
       "--transport-url",
       {"TRANSPORT_URL"},
       "URL",
       "local://",
       "transport and history: local:// keeps no history"},
      {{"ui"}, 1, "--ui", {"UI"}, "BOOL", "false", "serve the UI"},
      {{"demo"}, 1, "--demo", {"DEMO"}, "BOOL", "false", "serve the UI and the demo endpoints"},
      {{"debug"}, 1, "--debug", {"DEBUG"}, "BOOL", "false", "debug logs (not for production)"},
      {{"log_format"}, 1, "--log-format", {"LOG_FORMAT"}, "FORMAT", "text", "log format: text or json"},
      {{"use_forwarded_headers"},
       1,
       "--use-forwarded-headers",
       {"USE_FORWARDED_HEADERS"},
       "BOOL",
       "false",
       "trust X-Forwarded-* and Forwarded headers (only behind a proxy that sets them)"},
      {{"metrics_enabled"},
       1,
       "--metrics-enabled",
       {"METRICS_ENABLED"},
       "BOOL",
       "false",
       "serve Prometheus metrics at /metrics (on the hub's address unless --metrics-addr is set)"},
      {{"metrics_addr"},
       1,
       "--metrics-addr",
       {"METRICS_ADDR"},
       "ADDR",
       "",
       "serve /metrics only on this separate address (default: on the hub's address)"},
      {{"cert_file"}, 1, "--cert-file", {"CERT_FILE"}, "FILE", "", "TLS certificate chain (PEM); needs --key-file"},
      {{"key_file"}, 1, "--key-file", {"KEY_FILE"}, "FILE", "", "TLS private key (PEM); needs --cert-file"},
  };
  return kInputs;
}

bool apply_limit_setting(Config& c, std::string_view key, const std::string& v) {
  // Boost.Beast 1.81 keeps each header field in 16-bit offsets and throws (instead of reporting an
  // error) on a field value of 64 KiB or more: a header limit of 64 KiB keeps every field below that.
  constexpr std::uint64_t kMaxHeaderSize = 64 * 1024;
  if (key == "read_header_timeout") {
    c.read_header_timeout = parse_duration(v);
  } else if (key == "idle_timeout") {
    c.idle_timeout = parse_duration(v);
  } else if (key == "max_body_size") {
    c.max_body_size = parse_size(v);
    if (c.max_body_size == 0) throw std::invalid_argument("must be at least 1 byte (publishing needs a body)");
  } else if (key == "max_header_size") {
    c.max_header_size = parse_size(v);
    if (c.max_header_size < 1024) throw std::invalid_argument("must be at least 1KiB");
    if (c.max_header_size > kMaxHeaderSize) throw std::invalid_argument("must be at most 64KiB");
  } else if (key == "max_topics") {
    c.max_topics = parse_count(v);
  } else if (key == "max_selectors") {
    c.max_selectors = parse_count(v);
  } else if (key == "max_topic_length") {
    c.max_topic_length = parse_size(v);
  } else if (key == "max_connections") {
    c.max_connections = parse_count(v);
  } else if (key == "max_connections_per_ip") {
    c.max_connections_per_ip = parse_count(v);
  } else if (key == "max_streams_per_token") {
    c.max_streams_per_token = parse_count(v);
  } else {
    return false;
  }
  return true;
}

}  // namespace mercure::settings
