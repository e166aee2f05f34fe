#include "http/health_handler.hpp"

#include "core/hub.hpp"
#include "http/shard.hpp"

namespace mercure {

namespace {
constexpr std::string_view kLive = "/healthz";
constexpr std::string_view kReady = "/healthz/ready";

Response json_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}
}  // namespace

bool is_health_path(std::string_view path) {
  return path == kLive || path == kReady;
}

Response handle_health(Shard* shard, const Request& req, std::string_view path) {
  if (path == kLive) {
    if (shard->stopping()) {
      return json_response(req, http::status::service_unavailable,
                           R"({"status":"stopping","reason":"the hub is shutting down"})"
                           "\n");
    }
    return json_response(req, http::status::ok,
                         R"({"status":"ok"})"
                         "\n");
  }
  if (shard->stopping()) {
    return json_response(req, http::status::service_unavailable,
                         R"({"status":"unavailable","reason":"the hub is shutting down"})"
                         "\n");
  }
  if (!shard->hub().transport().writable()) {
    return json_response(req, http::status::service_unavailable,
                         R"({"status":"unavailable","reason":"the transport does not accept publishes"})"
                         "\n");
  }
  return json_response(req, http::status::ok,
                       R"({"status":"ready"})"
                       "\n");
}

}  // namespace mercure
