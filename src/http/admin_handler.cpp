#include "http/admin_handler.hpp"

#include "http/header_text.hpp"
#include "http/metrics_handler.hpp"

#include <algorithm>
#include <string_view>

namespace mercure {

namespace {

constexpr std::string_view kReady = "/mercure/health/ready";
constexpr std::string_view kLive = "/mercure/health/live";
constexpr std::string_view kStop = "/stop";

// Caddy's admin errors: {"error":"..."}; `reason` holds no quote or backslash.
Response error_response(const Request& req, http::status status, std::string_view reason) {
  return make_json_response(req, status, "{\"error\":\"" + std::string(reason) + "\"}\n");
}

// `exact`: host and port as listed (an Origin: a page on http://localhost, port 80, is another
// origin than the admin address); else the Host header, whose port a client may leave out.
bool host_allowed(std::string_view value, const std::vector<std::string>& allowed, bool exact) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& host) {
    return iequals(value, host) || (!exact && iequals(value, std::string_view(host).substr(0, host.rfind(':'))));
  });
}

}  // namespace

std::vector<std::string> loopback_admin_hosts(std::uint16_t port) {
  const std::string p = ":" + std::to_string(port);
  return {"localhost" + p, "127.0.0.1" + p, "[::1]" + p};
}

Response admin_response(const Request& req, const AdminEndpoint& admin) {
  if (!admin.allowed_hosts.empty()) {
    if (!host_allowed(trim_ows(req[http::field::host]), admin.allowed_hosts, false)) {
      return error_response(req, http::status::forbidden, "host not allowed");
    }
    if (const auto origin = req.find(http::field::origin); origin != req.end()) {
      std::string_view value = trim_ows(origin->value());
      const bool http_origin = value.size() > 7 && iequals(value.substr(0, 7), "http://");
      if (!http_origin || !host_allowed(value.substr(7), admin.allowed_hosts, true)) {
        return error_response(req, http::status::forbidden, "origin not allowed");
      }
    }
  }
  auto target = parse_target(req.target());
  if (!target) return error_response(req, http::status::bad_request, "bad request target");
  std::string_view path = target->path;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // Caddy trims it too
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  if (path == kReady || path == kLive) {
    if (!get) return error_response(req, http::status::method_not_allowed, "method not allowed");
    if (path == kLive || admin.ready()) return make_json_response(req, http::status::ok, "{\"status\":\"ok\"}\n");
    return make_json_response(req, http::status::service_unavailable,
                              "{\"status\":\"error\",\"error\":\"transport health check failed\"}\n");
  }
  if (path == kMetricsPath) {
    if (!get) return error_response(req, http::status::method_not_allowed, "method not allowed");
    if (admin.metrics == nullptr) {
      return error_response(req, http::status::not_found, "metrics are off (METRICS_ENABLED)");
    }
    return metrics_response(req, *admin.metrics);
  }
  if (path == kStop) {
    if (req.method() != http::verb::post) {
      return error_response(req, http::status::method_not_allowed, "method not allowed");
    }
    admin.stop();
    return make_json_response(req, http::status::ok, "");
  }
  return error_response(req, http::status::not_found,
                        "not offered by this hub (only /mercure/health/ready, /mercure/health/live, /metrics, /stop)");
}

}  // namespace mercure
