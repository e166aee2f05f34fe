#pragma once
// GET /metrics: the metrics in Prometheus' text exposition format (version 0.0.4), on the main
// listener (when metrics are on and no separate METRICS_ADDR is set) or on MetricsServer.

#include "http/http_types.hpp"

#include <string>
#include <string_view>

namespace mercure {

class Shard;

inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// What /metrics serves; implemented in src/app (Prometheus). Thread-safety: render() may be
// called from any thread, concurrently (every shard thread and the metrics listener's).
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  [[nodiscard]] virtual std::string render() const = 0;
};

// The response to GET/HEAD /metrics (200, the exposition, no caching).
[[nodiscard]] Response metrics_response(const Request& req, const MetricsSource& source);

// True when `path` is the metrics endpoint and metrics are served on the main listener.
[[nodiscard]] bool is_metrics_path(const Shard* shard, std::string_view path);

// GET/HEAD only (the router answers 405 otherwise). Shard thread only.
[[nodiscard]] Response handle_metrics(Shard* shard, const Request& req);

}  // namespace mercure
