#pragma once
// The Prometheus side of the metrics: a prometheus-cpp Collectable that turns a ShardedMetrics
// snapshot (summed over the shards at scrape time) and the history store's gauges into metric
// families, plus a Registry for the static ones (build info), serialized with TextSerializer.
// The families and their labels are documented in docs/metrics.md.
//
// Thread-safety: immutable after construction; render() may run concurrently on any threads.

#include "core/sharded_metrics.hpp"
#include "http/metrics_handler.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace mercure {

// What the history store reports at scrape time.
struct HistoryGauges {
  std::uint64_t events = 0;      // stored events
  std::uint64_t used_bytes = 0;  // bytes of the store in use
};

class PrometheusMetrics final : public MetricsSource {
 public:
  // `history`: called at each scrape when the transport keeps history (thread-safe), else empty.
  // `commit_batches`: whether the transport groups commits (the batch histogram is exposed).
  // `certificate_not_after`: with TLS on the listener, the notAfter (seconds since the epoch) of
  // the certificate served now, 0 while there is none (thread-safe), else empty.
  PrometheusMetrics(const ShardedMetrics& metrics, std::string version, std::function<HistoryGauges()> history = {},
                    bool commit_batches = false, std::function<std::int64_t()> certificate_not_after = {});
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // The text exposition format 0.0.4 (content type kMetricsContentType).
  [[nodiscard]] std::string render() const override;

 private:
  class HubCollector;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<HubCollector> collector_;
};

}  // namespace mercure
