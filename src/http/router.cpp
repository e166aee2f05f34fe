#include "http/router.hpp"

#include "core/metrics.hpp"
#include "http/health_handler.hpp"
#include "http/metrics_handler.hpp"
#include "http/shard.hpp"
#include "http/subscriptions_handler.hpp"
#include "http/ui_handler.hpp"

#include <string>

namespace mercure {

namespace {

Response method_not_allowed(const Request& req, const char* allow) {
  auto res = make_text_response(req, http::status::method_not_allowed,
                                std::string("method ") + std::string(req.method_string()) + " not allowed\n");
  res.set(http::field::allow, allow);
  return res;
}

bool is_read(const Request& req) {
  return req.method() == http::verb::get || req.method() == http::verb::head;
}

// "/" and "/robots.txt" answer as on the reference hub (its Caddyfile responds to both): load
// balancers and uptime checks often probe "/" (an AWS load balancer's default health check).
bool is_site_path(std::string_view path) {
  return path == "/" || path == "/robots.txt";
}

Response site_page(const ServerOptions& opts, const Request& req, std::string_view path) {
  if (path == "/robots.txt") return make_text_response(req, http::status::ok, "User-agent: *\nDisallow: /\n");
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n<meta name=\"robots\" content=\"noindex\">\n"
      "<title>Mercure hub</title>\n<h1>Mercure hub</h1>\n"
      "<p>Subscribe and publish at <code>/.well-known/mercure</code>.</p>\n";
  if (opts.ui || opts.demo) page += "<p><a href=\"/.well-known/mercure/ui/\">Debugging UI</a></p>\n";
  auto res = make_text_response(req, http::status::ok, std::move(page));
  res.set(http::field::content_type, "text/html; charset=utf-8");
  return res;
}

}  // namespace

Route route_of(Shard* shard, const Request& req, const Target& target) {
  if (target.path == kHubPath) {
    if (is_read(req)) return Route::subscribe;
    if (req.method() == http::verb::post) return Route::publish;
    return Route::other;
  }
  if (is_read(req) && is_subscriptions_path(shard, target.path)) return Route::subscriptions;
  return Route::other;
}

Response answer_other(Shard* shard, const Request& req, const Target& target) {
  const auto& opts = shard->options();
  if (target.path == kHubPath) {
    if (req.method() == http::verb::options) return make_preflight_response(req, opts.cors_origins);
    auto res = method_not_allowed(req, "GET, HEAD, POST, OPTIONS");
    add_cors_headers(req, opts.cors_origins, res);
    shard->metrics().request_rejected(shard->id(), RejectReason::method_not_allowed);
    return res;
  }
  if (!is_read(req) &&
      (is_health_path(target.path) || is_site_path(target.path) || is_metrics_path(shard, target.path) ||
       is_subscriptions_path(shard, target.path) || is_ui_path(shard, target.path))) {
    // A page on another origin calling the subscriptions API with a bearer token.
    if (is_preflight(req)) return make_preflight_response(req, opts.cors_origins, "GET, HEAD, OPTIONS");
    shard->metrics().request_rejected(shard->id(), RejectReason::method_not_allowed);
    return method_not_allowed(req, "GET, HEAD");
  }
  if (is_health_path(target.path)) return handle_health(shard, req, target.path);
  if (is_site_path(target.path)) return site_page(opts, req, target.path);
  if (is_metrics_path(shard, target.path)) return handle_metrics(shard, req);
  if (is_ui_path(shard, target.path)) return handle_ui(shard, req, target);
  shard->metrics().request_rejected(shard->id(), RejectReason::not_found);
  return make_text_response(req, http::status::not_found, "not found\n");
}

}  // namespace mercure
