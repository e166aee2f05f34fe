#include "http/http_types.hpp"

#include "core/form_data.hpp"

#include <algorithm>

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
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response make_error_response(const Request& req, const Error& error) {
  auto res = make_text_response(req, static_cast<http::status>(http_status(error.code)), error.reason + "\n");
  if (error.code == Errc::too_many_requests) res.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
  return res;
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
