#include "http/health_handler.hpp"

#include "core/hub.hpp"
#include "http/shard.hpp"

namespace mercure {

namespace {
constexpr std::string_view kHealthzLive = "/healthz";
constexpr std::string_view kHealthzReady = "/healthz/ready";
}  // namespace

bool is_health_path(std::string_view path) {
  return path == kHealthzLive || path == kHealthzReady;
}

Response handle_health(Shard* shard, const Request& req, std::string_view path) {
  if (path == kHealthzLive) {
    if (shard->stopping()) {
      return make_json_response(req, http::status::service_unavailable,
                                R"({"status":"stopping","reason":"the hub is shutting down"})"
                                "\n");
    }
    return make_json_response(req, http::status::ok,
                              R"({"status":"ok"})"
                              "\n");
  }
  if (shard->stopping()) {
    return make_json_response(req, http::status::service_unavailable,
                              R"({"status":"unavailable","reason":"the hub is shutting down"})"
                              "\n");
  }
  if (!shard->hub().transport().writable()) {
    return make_json_response(req, http::status::service_unavailable,
                              R"({"status":"unavailable","reason":"the transport does not accept publishes"})"
                              "\n");
  }
  return make_json_response(req, http::status::ok,
                            R"({"status":"ready"})"
                            "\n");
}

}  // namespace mercure
