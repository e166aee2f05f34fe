#include "transport/redis_options.hpp"

#include "core/form_data.hpp"
#include "transport/url_query.hpp"

namespace mercure {

namespace {

constexpr std::size_t kMaxBatchLimit = 100'000;

Error bad(std::string reason) {
  return Error{Errc::bad_request, std::move(reason)};
}

Result<void> apply_tls_parameter(RedisOptions& o, const std::string& key, const std::string& value) {
  if (!o.tls) return bad("parameter " + quoted(key) + " needs a rediss:// URL (TLS)");
  RedisOptions::Tls& tls = *o.tls;
  if (key == "tls_ca_file") {
    tls.ca_file = value;
  } else if (key == "tls_cert_file") {
    tls.cert_file = value;
  } else if (key == "tls_key_file") {
    tls.key_file = value;
  } else if (key == "tls_server_name") {
    for (unsigned char c : value) {
      if (c <= ' ' || c == 0x7f || c == '/') return bad("parameter \"tls_server_name\": not a host name or address");
    }
    tls.server_name = value;
  } else if (key == "tls_insecure_skip_verify") {
    auto b = parse_bool_parameter(value);
    if (!b) return bad("parameter \"tls_insecure_skip_verify\": " + quoted(value) + " is not true or false");
    tls.insecure_skip_verify = *b;
  } else {
    return bad("unknown parameter " + quoted(key) +
               " (known TLS parameters: tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, "
               "tls_insecure_skip_verify)");
  }
  return {};
}

Result<void> apply_parameter(RedisOptions& o, const std::string& key, const std::string& value) {
  if (key == "stream") {
    for (unsigned char c : value) {
      if (c <= ' ' || c == 0x7f)
        return bad("parameter \"stream\": " + quoted(value) + " must not contain spaces or controls");
    }
    o.stream = value;
  } else if (key == "size") {
    auto n = parse_unsigned<std::uint64_t>(value);
    if (!n) return bad("parameter \"size\": " + quoted(value) + " is not a number of events (0 = unbounded)");
    o.size = *n;
  } else if (key == "max_batch") {
    auto n = parse_unsigned<std::size_t>(value);
    if (!n || *n == 0 || *n > kMaxBatchLimit) {
      return bad("parameter \"max_batch\": " + quoted(value) + " is not a number between 1 and 100000");
    }
    o.max_batch = *n;
  } else if (key == "node_timeout") {
    auto n = parse_unsigned<std::uint32_t>(value);
    if (!n || *n < 2 || *n > 3600) {
      return bad("parameter \"node_timeout\": " + quoted(value) + " is not a number of seconds between 2 and 3600");
    }
    o.node_timeout = std::chrono::seconds(*n);
  } else if (key.starts_with("tls_")) {
    return apply_tls_parameter(o, key, value);
  } else {
    return bad("unknown parameter " + quoted(key) +
               " (known: stream, size, max_batch, node_timeout, and with rediss:// tls_ca_file, tls_cert_file, "
               "tls_key_file, tls_server_name, tls_insecure_skip_verify)");
  }
  return {};
}

// "user:password@" (already split off the authority) -> o.username / o.password.
Result<void> apply_userinfo(RedisOptions& o, std::string_view userinfo) {
  const std::size_t colon = userinfo.find(':');
  auto user = percent_decode(userinfo.substr(0, colon));
  if (!user) return bad("username: bad percent-encoding");
  if (colon == std::string_view::npos) {
    // "redis://secret@host": like redis-cli and most clients, a lone userinfo is the password.
    o.password = std::move(*user);
    return {};
  }
  auto password = percent_decode(userinfo.substr(colon + 1));
  if (!password) return bad("password: bad percent-encoding");
  o.username = std::move(*user);
  o.password = std::move(*password);
  return {};
}

Result<void> apply_host_port(RedisOptions& o, std::string_view hostport) {
  std::string_view port;
  if (hostport.starts_with('[')) {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad("host: \"[\" without \"]\"");
    o.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return bad("host: unexpected text after \"]\"");
    if (!after.empty()) port = after.substr(1);
  } else {
    const std::size_t colon = hostport.rfind(':');
    o.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (o.host.empty()) return bad("the URL needs a host (example: redis://127.0.0.1:6379/0)");
  for (unsigned char c : o.host) {
    if (c <= ' ' || c == 0x7f || c == '/' || c == '@')
      return bad("host: not a host name or address");  // not quoted: it may hold part of a password
  }
  if (!port.empty()) {
    auto n = parse_unsigned<std::uint32_t>(port);
    if (!n || *n == 0 || *n > 65535) return bad("port: not a port number (1-65535)");
    o.port = static_cast<std::uint16_t>(*n);
  }
  return {};
}

}  // namespace

std::string RedisOptions::describe() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db) + (tls ? " (TLS)" : "");
}

Result<RedisOptions> parse_redis_url(std::string_view url) {
  const bool tls = url.starts_with("rediss://");
  if (!tls && !url.starts_with("redis://")) {
    return bad("not a redis:// or rediss:// URL (example: redis://127.0.0.1:6379/0)");
  }
  std::string_view rest = url.substr(tls ? 9 : 8);
  if (rest.find('#') != std::string_view::npos) return bad("the URL must not have a fragment (\"#...\")");

  const std::size_t question = rest.find('?');
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : rest.substr(question + 1);
  rest = rest.substr(0, question);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  RedisOptions o;
  if (tls) o.tls.emplace();
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (auto applied = apply_userinfo(o, authority.substr(0, at)); !applied) return applied.error();
    authority = authority.substr(at + 1);
  }
  if (auto applied = apply_host_port(o, authority); !applied) return applied.error();
  if (!path.empty()) {
    auto db = parse_unsigned<unsigned>(path);
    if (!db || *db > 1'000'000) return bad("database: not a database number (redis://host:port/0)");
    o.db = *db;
  }
  auto applied = for_each_query_parameter(
      query, [&o](const std::string& key, const std::string& value) { return apply_parameter(o, key, value); });
  if (!applied) return applied.error();
  if (o.tls && o.tls->cert_file.empty() != o.tls->key_file.empty()) {
    return bad("parameters \"tls_cert_file\" and \"tls_key_file\" go together (a client certificate and its key)");
  }
  return o;
}

}  // namespace mercure
