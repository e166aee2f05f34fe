#include "app/config_builder.hpp"

#include "app/config_settings.hpp"
#include "app/document_fetch.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_verifier.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace mercure::settings {
namespace {

constexpr unsigned kMaxWorkers = 1024;

unsigned parse_workers(std::string_view text) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (!text.empty() && text.front() == '-') throw std::invalid_argument("must not be negative");
    if (text.size() > 9) throw std::invalid_argument("at most " + std::to_string(kMaxWorkers) + " workers");
    throw std::invalid_argument("not a whole number (0 = one worker per core)");
  }
  const unsigned long n = std::stoul(std::string(text));
  if (n > kMaxWorkers) throw std::invalid_argument("at most " + std::to_string(kMaxWorkers) + " workers");
  return static_cast<unsigned>(n);
}

bool valid_cookie_name(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={} \t";
  return std::all_of(name.begin(), name.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f && kSeparators.find(ch) == std::string_view::npos;
  });
}

bool valid_url_scheme_prefix(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(url[0]))) return false;
  return std::all_of(url.begin(), url.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.' || c == '_'; });
}

void apply_setting(Config& c, const SettingSpec& spec, const RawSetting& raw) {
  const std::string& v = raw.values.empty() ? std::string() : raw.values.back();
  const std::string_view key = spec.key;
  try {
    if (key == "addr") {
      const ListenAddress a = parse_listen_address(v);
      c.listen_host = a.host;
      c.listen_port = a.port;
    } else if (key == "workers") {
      c.workers = parse_workers(v);
    } else if (key == "publisher_jwt_key") {
      c.publisher_jwt.key = unfold_pem(v);
    } else if (key == "publisher_jwt_algorithm") {
      c.publisher_jwt.algorithm = v;
    } else if (key == "subscriber_jwt_key") {
      c.subscriber_jwt.key = unfold_pem(v);
    } else if (key == "subscriber_jwt_algorithm") {
      c.subscriber_jwt.algorithm = v;
    } else if (key == "publisher_jwks_url" || key == "subscriber_jwks_url") {
      if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0 && v.rfind("file://", 0) != 0) {
        throw std::invalid_argument("not an https://, http:// or file:// URL");
      }
      (key == "publisher_jwks_url" ? c.publisher_jwt : c.subscriber_jwt).jwks_url = v;
    } else if (key == "anonymous") {
      c.anonymous = parse_bool(v);
    } else if (key == "subscriptions") {
      c.subscriptions = parse_bool(v);
    } else if (key == "cors_origins") {
      c.cors_origins = raw.values;
    } else if (key == "publish_origins") {
      c.publish_origins = raw.values;
    } else if (key == "cookie_name") {
      if (!valid_cookie_name(v)) throw std::invalid_argument("not a valid cookie name");
      c.cookie_name = v;
    } else if (key == "heartbeat") {
      c.heartbeat = parse_duration(v);
    } else if (key == "write_timeout") {
      c.write_timeout = parse_duration(v);
    } else if (key == "grace_period") {
      c.grace_period = parse_duration(v);
    } else if (key == "dispatch_timeout") {
      c.dispatch_timeout = parse_duration(v);
    } else if (key == "read_timeout") {
      c.read_timeout = parse_duration(v);
    } else if (key == "transport_url") {
      if (!valid_url_scheme_prefix(v)) {
        throw std::invalid_argument(
            "not a transport URL (examples: local://, lmdb:///var/lib/mercure/hub.db, redis://127.0.0.1:6379/0)");
      }
      c.transport_url = v;
    } else if (key == "ui") {
      c.ui = parse_bool(v);
    } else if (key == "demo") {
      c.demo = parse_bool(v);
    } else if (key == "io_uring") {
      c.io_uring = parse_bool(v);
    } else if (key == "debug") {
      c.debug = parse_bool(v);
    } else if (key == "log_format") {
      std::string f = lower(v);
      if (f == "fluentd") f = "json";  // the legacy hub's third format, a JSON variant
      if (f != "text" && f != "json") throw std::invalid_argument("unknown log format (use text or json)");
      c.log_format = f;
    } else if (key == "use_forwarded_headers") {
      c.use_forwarded_headers = parse_bool(v);
    } else if (key == "metrics_enabled") {
      c.metrics_enabled = parse_bool(v);
    } else if (key == "metrics_addr") {
      c.metrics_addr = v;
    } else if (key == "cert_file") {
      c.cert_file = v;
    } else if (key == "key_file") {
      c.key_file = v;
    } else if (key == "path_prefix") {
      c.path_prefixes = raw.values;  // made by caddy_routes: "/a", "/b", each without a trailing slash
    } else if (key == "site") {
      c.site = primary_site_address(v);  // refused here, with the setting's name, when malformed
    } else if (key == "acme_email") {
      if (v.find('@') == std::string::npos || v.find_first_of(" \t\r\n,;<>\"") != std::string::npos) {
        throw std::invalid_argument("not an email address");
      }
      c.acme_email = v;
    } else if (key == "acme_ca") {
      if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0) throw std::invalid_argument("not an https:// URL");
      c.acme_ca = v;
    } else if (key == "acme_ca_root") {
      c.acme_ca_root = v;
    } else if (key == "auto_https") {
      const std::string mode = lower(v);
      if (mode != "on" && mode != "off" && mode != "disable_certs" && mode != "disable_redirects" &&
          mode != "ignore_loaded_certs" && mode != "prefer_wildcard") {
        throw std::invalid_argument(
            "unknown mode (off, disable_certs, disable_redirects, ignore_loaded_certs, prefer_wildcard)");
      }
      c.auto_https = mode;
    } else if (key == "http_port") {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("not a port number");
      c.http_port = parse_listen_address(":" + v).port;
      if (c.http_port == 0) throw std::invalid_argument("port out of range (1-65535)");
    } else if (key == "admin") {
      if (lower(v) == "off") {
        c.admin.clear();
      } else {
        if (v.rfind("unix/", 0) == 0)
          throw std::invalid_argument("a unix socket is not supported (use host:port or off)");
        const std::string addr = v.rfind("tcp/", 0) == 0 ? v.substr(4) : v;  // Caddy's network prefix
        (void)parse_listen_address(addr);
        c.admin = addr;
      }
    } else if (key == "acme_dir") {
      if (v.empty()) throw std::invalid_argument("empty directory");
      c.acme_dir = v;
    } else if (key == "protocols") {
      c.h2 = c.h2c = c.h3_asked = false;
      bool h1 = false;
      for (const auto& item : raw.values) {
        const std::string p = lower(item);
        if (p == "h1") {
          h1 = true;
        } else if (p == "h2") {
          c.h2 = true;
        } else if (p == "h2c") {
          c.h2c = true;
        } else if (p == "h3") {
          c.h3_asked = true;
        } else {
          throw std::invalid_argument("unknown protocol \"" + item + "\" (use h1, h2, h2c)");
        }
      }
      if (!h1) throw std::invalid_argument("must include h1 (HTTP/1.1 is always served)");
    } else {
      settings::apply_limit_setting(c, key, v);
    }
  } catch (const std::invalid_argument& e) {
    if (key != "transport_url") invalid(raw, spec.kind == Kind::kSecret, e.what());
    RawSetting shown = raw;  // a redis:// URL may hold a password
    for (auto& value : shown.values) value = redact_url(value);
    invalid(shown, false, e.what());
  }
}

std::string supported_algorithms() {
  return "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";
}

void check_role(JwtRole& role, const std::string& prefix, const Layer& merged, const std::string& missing_hint,
                bool required, std::vector<std::string>& warnings) {
  const auto raw_of = [&](const std::string& key, const std::string& fallback) {
    const auto it = merged.find(key);
    return it != merged.end() ? it->second : RawSetting{{}, fallback, ""};
  };
  const RawSetting key_raw = raw_of(prefix + "_jwt_key", "JWT_KEY");
  if (!role.jwks_url.empty()) {
    // The reference hub does the same: the key set wins over a configured key.
    if (!role.key.empty() && key_raw.name != "--dev") {
      warnings.push_back(key_raw.name + " is ignored for " + prefix + "s: " + prefix + "_jwks_url is set (the " +
                         prefix + " keys come from the key set)");
    }
    role.key.clear();
    return;
  }
  const RawSetting alg_raw = raw_of(prefix + "_jwt_algorithm", "JWT_ALGORITHM");
  const auto alg = parse_jwt_algorithm(role.algorithm);
  if (!alg) invalid(alg_raw, false, "unsupported JWT algorithm (supported: " + supported_algorithms() + ")");
  if (role.key.empty()) {
    if (!required) return;
    const std::string upper = prefix == "publisher" ? "PUBLISHER" : "SUBSCRIBER";
    throw ConfigError(upper + "_JWT_KEY", "missing " + prefix + " JWT key: " + missing_hint);
  }
  auto verifier = JwtVerifier::create(*alg, role.key);
  if (!verifier) {
    invalid(key_raw, true,
            "unusable as a " + std::string(to_string(*alg)) + " " + prefix + " key: " + verifier.error().reason);
  }
}

void check_origins(const std::vector<std::string>& origins, const std::string& setting,
                   std::vector<std::string>& warnings) {
  for (const std::string& o : origins) {
    if (o == "*" || o == "null") continue;
    const auto scheme = o.find("://");
    const bool has_path = scheme != std::string::npos && o.find('/', scheme + 3) != std::string::npos;
    if (scheme == std::string::npos || has_path) {
      std::string warning = setting;
      warning += ": origin " + quote(o);
      warning += " will never match a browser's Origin header (expected scheme://host[:port], no path)";
      warnings.push_back(std::move(warning));
    }
  }
}

}  // namespace

Config build_config(const std::vector<const Layer*>& layers, bool dev, std::vector<std::string>& warnings) {
  Layer merged;
  for (const Layer* layer : layers) {
    for (const auto& [key, raw] : *layer) merged[key] = raw;
  }
  Config c;
  c.dev = dev;
  for (const auto& [key, raw] : merged) apply_setting(c, *find_setting(key), raw);
  if (const auto it = merged.find("metrics_enabled"); it != merged.end() && it->second.name == kServersMetrics) {
    c.metrics_admin_only = true;
  }

  check_role(c.publisher_jwt, "publisher", merged,
             "the hub cannot authorize publishers (set MERCURE_PUBLISHER_JWT_KEY, PUBLISHER_JWT_KEY or JWT_KEY, or "
             "publisher_jwt or "
             "publisher_jwks_url in the mercure block, or run with --dev)",
             true, warnings);
  check_role(c.subscriber_jwt, "subscriber", merged,
             "the hub cannot authorize subscribers (set MERCURE_SUBSCRIBER_JWT_KEY, SUBSCRIBER_JWT_KEY or JWT_KEY, or "
             "subscriber_jwt or "
             "subscriber_jwks_url in the mercure block, or allow anonymous subscribers with ALLOW_ANONYMOUS=1)",
             !c.anonymous, warnings);
  if (c.cert_file.empty() != c.key_file.empty()) {
    const std::string given = c.cert_file.empty() ? "KEY_FILE" : "CERT_FILE";
    const std::string missing = c.cert_file.empty() ? "CERT_FILE" : "KEY_FILE";
    throw ConfigError(missing, "missing " + missing + ": " + given + " is set, TLS needs both");
  }
  if (c.metrics_enabled && !c.metrics_addr.empty()) {
    const auto it = merged.find("metrics_addr");
    const RawSetting raw = it != merged.end() ? it->second : RawSetting{{c.metrics_addr}, "METRICS_ADDR", ""};
    ListenAddress metrics;
    try {
      metrics = parse_listen_address(c.metrics_addr);
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
    if (metrics.port != 0 && metrics.port == c.listen_port &&
        (metrics.host == c.listen_host || metrics.host.empty() || c.listen_host.empty())) {
      invalid(raw, false, "the metrics endpoint needs an address other than the hub's");
    }
  }
  check_origins(c.cors_origins, "cors_origins", warnings);
  if (c.h3_asked) warnings.push_back("protocols: h3 (HTTP/3) is not served; h1 and h2 are");
  check_origins(c.publish_origins, "publish_origins", warnings);
  return c;
}

}  // namespace mercure::settings
