#include "http/metrics_handler.hpp"

#include "http/shard.hpp"

namespace mercure {

Response metrics_response(const Request& req, const MetricsSource& source) {
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, kMetricsContentType);
  res.set(http::field::cache_control, "no-store");
  add_security_fields(res);
  res.keep_alive(req.keep_alive());
  res.body() = source.render();
  res.prepare_payload();
  return res;
}

bool is_metrics_path(const Shard* shard, std::string_view path) {
  return path == kMetricsPath && shard->metrics_page() != nullptr;
}

Response handle_metrics(Shard* shard, const Request& req) {
  return metrics_response(req, *shard->metrics_page());
}

}  // namespace mercure
