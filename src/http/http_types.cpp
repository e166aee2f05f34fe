#include "http/http_types.hpp"

#include "core/form_data.hpp"
#include "http/header_text.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>

namespace mercure {

const std::string* Target::first(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::vector<std::string> Target::all(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == key) out.push_back(v);
  }
  return out;
}

Result<Target> parse_target(std::string_view target, std::span<const std::string> prefixes) {
  Target t;
  // The absolute form (RFC 9112 3.2.2), which a server must accept: the authority is dropped.
  bool root = false;  // "http://host?query": the path is "/"
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
      const auto rest = target.find_first_of("/?", scheme.size());
      if (rest == std::string_view::npos) {
        t.path = "/";
        return t;
      }
      target.remove_prefix(rest);
      root = target.front() == '?';
      break;
    }
  }
  auto q = target.find('?');
  t.path = root ? std::string_view("/") : target.substr(0, q);
  for (const std::string& prefix : prefixes) {
    if (t.path.size() > prefix.size() && t.path[prefix.size()] == '/' &&
        boost::beast::iequals(t.path.substr(0, prefix.size()), prefix)) {
      t.path.remove_prefix(prefix.size());
    }
  }
  if (q != std::string_view::npos) {
    auto fragment = target.find('#', q);
    auto query = target.substr(q + 1, fragment == std::string_view::npos ? std::string_view::npos : fragment - q - 1);
    auto parsed = parse_urlencoded(query, "query");
    if (!parsed) return parsed.error();
    t.query = std::move(*parsed);
  }
  return t;
}

void add_security_fields(Response& res) {
  res.set(kNosniffField, "nosniff");
  res.set(kFrameOptionsField, "DENY");
}

Response make_json_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  add_security_fields(res);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response make_text_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  if (http::to_status_class(status) == http::status_class::informational || status == http::status::no_content ||
      status == http::status::not_modified) {
    // Statuses without a body: Beast's own checks (prepare_payload throws on a body).
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    add_security_fields(res);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }
  // The fields set(content_type), keep_alive() and prepare_payload() give a fresh response, in
  // their order, without their look-ups: Connection only where it differs from the version's
  // default, then Content-Length.
  res.insert(http::field::content_type, "text/plain; charset=utf-8");
  res.insert(kNosniffField, "nosniff");
  res.insert(kFrameOptionsField, "DENY");
  const bool keep_alive = req.keep_alive();
  if (req.version() < 11) {
    if (keep_alive) res.insert(http::field::connection, "keep-alive");
  } else if (!keep_alive) {
    res.insert(http::field::connection, "close");
  }
  char digits[std::numeric_limits<std::size_t>::digits10 + 1];
  const auto end = std::to_chars(digits, digits + sizeof digits, body.size()).ptr;
  res.insert(http::field::content_length, std::string_view(digits, static_cast<std::size_t>(end - digits)));
  res.body() = std::move(body);
  return res;
}

Response make_error_response(const Request& req, const Error& error) {
  auto res = make_text_response(req, static_cast<http::status>(http_status(error.code)), error.reason + "\n");
  if (error.code == Errc::too_many_requests) res.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
  return res;
}

void serialize_response_head(const Response& res, std::string& out) {
  assert(!res.chunked());
  const unsigned version = res.version();
  const unsigned code = res.result_int();
  const auto reason = res.reason();
  std::size_t size = 13 + reason.size() + 2 + 2;
  for (const auto& f : res) size += f.name_string().size() + 2 + f.value().size() + 2;
  const std::size_t old_size = out.size();
  out.resize(old_size + size);
  char* p = out.data() + old_size;
  auto put = [&p](const char* data, std::size_t n) {
    std::memcpy(p, data, n);
    p += n;
  };
  // "HTTP/X.Y ### <reason>", as Beast's fields writer builds it.
  char status_line[] = "HTTP/1.1 000 ";
  status_line[5] = static_cast<char>('0' + version / 10);
  status_line[7] = static_cast<char>('0' + version % 10);
  status_line[9] = static_cast<char>('0' + code / 100);
  status_line[10] = static_cast<char>('0' + (code / 10) % 10);
  status_line[11] = static_cast<char>('0' + code % 10);
  put(status_line, 13);
  put(reason.data(), reason.size());
  put("\r\n", 2);
  for (const auto& f : res) {
    const auto name = f.name_string();
    const auto value = f.value();
    put(name.data(), name.size());
    put(": ", 2);
    put(value.data(), value.size());
    put("\r\n", 2);
  }
  put("\r\n", 2);
}

void append_ok_text_head(std::string& out, unsigned version, bool keep_alive, std::size_t body_size,
                         std::string_view cors_origin) {
  // The fields make_text_response inserts, in its order, then add_cors_headers'.
  std::string_view connection;
  if (version < 11) {
    if (keep_alive) connection = "Connection: keep-alive\r\n";
  } else if (!keep_alive) {
    connection = "Connection: close\r\n";
  }
  char digits[std::numeric_limits<std::size_t>::digits10 + 1];
  const auto digits_end = std::to_chars(digits, digits + sizeof digits, body_size).ptr;
  char status_line[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n";
  status_line[5] = static_cast<char>('0' + version / 10);
  status_line[7] = static_cast<char>('0' + version % 10);
  constexpr std::string_view kCorsCredentials = "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
  const std::array<std::string_view, 9> parts{
      std::string_view(status_line, sizeof status_line - 1),
      kSecurityFieldsText,
      connection,
      "Content-Length: ",
      std::string_view(digits, static_cast<std::size_t>(digits_end - digits)),
      "\r\n",
      cors_origin.empty() ? std::string_view() : std::string_view("Access-Control-Allow-Origin: "),
      cors_origin,
      cors_origin.empty() ? std::string_view() : kCorsCredentials};
  std::size_t size = 2;  // the blank line
  for (auto part : parts) size += part.size();
  const std::size_t old_size = out.size();
  out.resize(old_size + size);
  char* p = out.data() + old_size;
  for (auto part : parts) {
    if (part.empty()) continue;  // memcpy never sees the null pointer of an empty view
    std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  std::memcpy(p, "\r\n", 2);
}

bool send_now(boost::asio::ip::tcp::socket& socket, std::array<boost::asio::const_buffer, 2>& wire) {
  std::array<iovec, 2> iov{};
  for (std::size_t i = 0; i < wire.size(); ++i) {
    iov[i].iov_base = const_cast<void*>(wire[i].data());
    iov[i].iov_len = wire[i].size();
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n = 0;
  do {
    n = ::sendmsg(socket.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  return consume_sent(wire, static_cast<std::size_t>(n));
}

bool consume_sent(std::array<boost::asio::const_buffer, 2>& wire, std::size_t sent) {
  for (auto& b : wire) {
    const std::size_t k = std::min(sent, b.size());
    b += k;
    sent -= k;
  }
  return wire[0].size() == 0 && wire[1].size() == 0;
}

void join_cookie_fields(Request& req) {
  auto [first, last] = req.equal_range(http::field::cookie);
  if (first == last || std::next(first) == last) return;
  std::string joined;
  for (auto it = first; it != last; ++it) {
    if (!joined.empty()) joined += "; ";
    joined += it->value();
  }
  req.set(http::field::cookie, joined);
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& cors_origins) {
  if (origin.empty()) return false;
  return std::any_of(cors_origins.begin(), cors_origins.end(),
                     [&](const std::string& o) { return origin_matches(origin, o); });
}

void add_cors_headers(const Request& req, const std::vector<std::string>& cors_origins, Response& res) {
  if (cors_origins.empty()) return;
  auto origin = req[http::field::origin];
  if (origin_allowed(origin, cors_origins)) {
    // Credentials are allowed, so the origin is echoed, never "*".
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_credentials, "true");
  }
  // The answer depends on Origin whether it is allowed or not: a shared cache must not give a
  // response made without Access-Control-Allow-Origin to an allowed origin's page (the
  // subscriptions API is cacheable). append_ok_text_head, for a POST's answer (never cached),
  // writes it only with the origin.
  res.set(http::field::vary, "Origin");
}

Response make_preflight_response(const Request& req, const std::vector<std::string>& cors_origins,
                                 std::string_view methods) {
  Response res{http::status::no_content, req.version()};
  add_security_fields(res);
  res.set(http::field::allow, methods);  // what OPTIONS asks (RFC 9110 9.3.7), CORS or not
  res.keep_alive(req.keep_alive());
  add_cors_headers(req, cors_origins, res);
  if (origin_allowed(req[http::field::origin], cors_origins)) {
    res.set(http::field::access_control_allow_methods, methods);
    res.set(http::field::access_control_allow_headers, "authorization, cache-control, last-event-id");
    res.set(http::field::access_control_max_age, "600");
  }
  return res;
}

}  // namespace mercure
