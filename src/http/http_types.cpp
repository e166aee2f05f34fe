#include "http/http_types.hpp"

#include "core/form_data.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>
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

Result<Target> parse_target(std::string_view target) {
  Target t;
  auto q = target.find('?');
  t.path = target.substr(0, q);
  if (q != std::string_view::npos) {
    auto fragment = target.find('#', q);
    auto query = target.substr(q + 1, fragment == std::string_view::npos ? std::string_view::npos : fragment - q - 1);
    auto parsed = parse_urlencoded(query, "query");
    if (!parsed) return parsed.error();
    t.query = std::move(*parsed);
  }
  return t;
}

Response make_text_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  if (http::to_status_class(status) == http::status_class::informational || status == http::status::no_content ||
      status == http::status::not_modified) {
    // Statuses without a body: Beast's own checks (prepare_payload throws on a body).
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }
  // The fields set(content_type), keep_alive() and prepare_payload() give a fresh response, in
  // their order, without their look-ups: Connection only where it differs from the version's
  // default, then Content-Length.
  res.insert(http::field::content_type, "text/plain; charset=utf-8");
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

bool origin_allowed(std::string_view origin, const std::vector<std::string>& cors_origins) {
  if (origin.empty()) return false;
  return std::any_of(cors_origins.begin(), cors_origins.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

void add_cors_headers(const Request& req, const std::vector<std::string>& cors_origins, Response& res) {
  auto origin = req[http::field::origin];
  if (!origin_allowed(origin, cors_origins)) return;
  // Credentials are allowed, so the origin is echoed, never "*".
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_allow_credentials, "true");
  res.set(http::field::vary, "Origin");
}

Response make_preflight_response(const Request& req, const std::vector<std::string>& cors_origins) {
  Response res{http::status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  add_cors_headers(req, cors_origins, res);
  if (origin_allowed(req[http::field::origin], cors_origins)) {
    res.set(http::field::access_control_allow_methods, "GET, HEAD, POST, OPTIONS");
    res.set(http::field::access_control_allow_headers, "authorization, cache-control, last-event-id");
    res.set(http::field::access_control_max_age, "600");
  }
  return res;
}

}  // namespace mercure
