#include "app/prometheus_metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace mercure {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

MetricFamily single_counter(std::string name, std::string help, double value) {
  auto f = family(std::move(name), std::move(help), MetricType::Counter);
  f.metric.emplace_back().counter.value = value;
  return f;
}

MetricFamily single_gauge(std::string name, std::string help, double value) {
  auto f = family(std::move(name), std::move(help), MetricType::Gauge);
  f.metric.emplace_back().gauge.value = value;
  return f;
}

// `scale` converts the observed unit (and the bounds) to the exposed one (ns -> s: 1e-9).
MetricFamily histogram(std::string name, std::string help, const HistogramSnapshot& h, double scale) {
  auto f = family(std::move(name), std::move(help), MetricType::Histogram);
  auto& m = f.metric.emplace_back();
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = static_cast<double>(h.sum) * scale;
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    m.histogram.bucket.push_back({h.cumulative[i], static_cast<double>(h.upper_bounds[i]) * scale});
  }
  m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
  return f;
}

}  // namespace

class PrometheusMetrics::HubCollector final : public prometheus::Collectable {
 public:
  HubCollector(const ShardedMetrics& metrics, std::function<HistoryGauges()> history, bool commit_batches,
               std::function<std::int64_t()> certificate_not_after)
      : metrics_(metrics),
        history_(std::move(history)),
        commit_batches_(commit_batches),
        certificate_not_after_(std::move(certificate_not_after)) {}

  std::vector<MetricFamily> Collect() const override {
    const MetricsSnapshot s = metrics_.snapshot();
    std::vector<MetricFamily> out;
    out.push_back(single_gauge("mercure_subscribers_connected", "Subscribers connected now",
                               static_cast<double>(s.subscribers_connected)));
    out.push_back(single_counter("mercure_subscribers_total", "Subscribers that have connected",
                                 static_cast<double>(s.subscribers_total)));
    out.push_back(
        single_counter("mercure_updates_total", "Updates accepted by the transport", static_cast<double>(s.updates)));
    out.push_back(histogram("mercure_publish_duration_seconds",
                            "Time from a publish request parsed to its 200 response written", s.publish_duration_ns,
                            1e-9));

    auto deliveries = family("mercure_deliveries_total", "Events written to subscribers, by source (live, history)",
                             MetricType::Counter);
    for (std::size_t i = 0; i < kDeliverySources; ++i) {
      auto& m = deliveries.metric.emplace_back(
          labelled({{"source", std::string(delivery_source_name(static_cast<DeliverySource>(i)))}}));
      m.counter.value = static_cast<double>(s.deliveries[i]);
    }
    out.push_back(std::move(deliveries));

    auto disconnects =
        family("mercure_subscriber_disconnects_total", "Subscriber streams ended, by reason", MetricType::Counter);
    for (std::size_t i = 0; i < kDisconnectReasons; ++i) {
      auto& m = disconnects.metric.emplace_back(
          labelled({{"reason", std::string(disconnect_reason_name(static_cast<DisconnectReason>(i)))}}));
      m.counter.value = static_cast<double>(s.disconnects[i]);
    }
    out.push_back(std::move(disconnects));

    auto rejected =
        family("mercure_requests_rejected_total", "Requests refused, by status and reason", MetricType::Counter);
    for (std::size_t i = 0; i < kRejectReasons; ++i) {
      const auto why = static_cast<RejectReason>(i);
      auto& m = rejected.metric.emplace_back(labelled(
          {{"reason", std::string(reject_reason_name(why))}, {"status", std::to_string(reject_reason_status(why))}}));
      m.counter.value = static_cast<double>(s.rejected[i]);
    }
    out.push_back(std::move(rejected));

    auto connections =
        family("mercure_connections", "Open HTTP connections (event streams included), by worker", MetricType::Gauge);
    for (std::size_t i = 0; i < s.connections.size(); ++i) {
      auto& m = connections.metric.emplace_back(labelled({{"worker", std::to_string(i)}}));
      m.gauge.value = static_cast<double>(s.connections[i]);
    }
    out.push_back(std::move(connections));

    if (history_) {
      const HistoryGauges h = history_();
      out.push_back(
          single_gauge("mercure_history_events", "Events stored in the history", static_cast<double>(h.events)));
      out.push_back(single_gauge("mercure_history_bytes", "Bytes of the history store in use",
                                 static_cast<double>(h.used_bytes)));
    }
    if (commit_batches_) {
      out.push_back(histogram("mercure_history_commit_batch_size", "Updates written per history transaction",
                              s.commit_batch, 1.0));
    }
    if (certificate_not_after_) {
      out.push_back(single_gauge("mercure_tls_certificate_expiry_timestamp_seconds",
                                 "When the TLS certificate served now expires (Unix time; 0: none yet)",
                                 static_cast<double>(certificate_not_after_())));
    }
    return out;
  }

 private:
  const ShardedMetrics& metrics_;
  std::function<HistoryGauges()> history_;
  bool commit_batches_;
  std::function<std::int64_t()> certificate_not_after_;
};

PrometheusMetrics::PrometheusMetrics(const ShardedMetrics& metrics, std::string version,
                                     std::function<HistoryGauges()> history, bool commit_batches,
                                     std::function<std::int64_t()> certificate_not_after)
    : registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<HubCollector>(metrics, std::move(history), commit_batches,
                                                std::move(certificate_not_after))) {
  prometheus::BuildGauge()
      .Name("mercure_build_info")
      .Help("The hub's build: always 1, the version is a label")
      .Register(*registry_)
      .Add({{"version", std::move(version)}})
      .Set(1);
}

PrometheusMetrics::~PrometheusMetrics() = default;

std::string PrometheusMetrics::render() const {
  std::vector<MetricFamily> families = registry_->Collect();
  std::vector<MetricFamily> hub = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(hub.begin()), std::make_move_iterator(hub.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace mercure
