#include "app/prometheus_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mercure {
namespace {

using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

TEST(PrometheusMetrics, RendersTheSumOfTheShardsInTextFormat) {
  ShardedMetrics m(2);
  m.subscriber_connected(0);
  m.subscriber_connected(1);
  m.subscriber_disconnected(1, DisconnectReason::write_timeout);
  m.delivered(0, DeliverySource::live, 3);
  m.delivered(1, DeliverySource::history, 4);
  m.request_rejected(0, RejectReason::invalid_token);
  m.request_rejected(1, RejectReason::invalid_token);
  m.connection_opened(1);
  m.updates_committed(5);
  m.publish_completed(0, 300us);
  PrometheusMetrics p(m, "1.2.3");
  const std::string text = p.render();

  EXPECT_TRUE(has_line(text, "# TYPE mercure_subscribers_connected gauge")) << text;
  EXPECT_TRUE(has_line(text, "mercure_subscribers_connected 1")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE mercure_subscribers_total counter")) << text;
  EXPECT_TRUE(has_line(text, "mercure_subscribers_total 2")) << text;
  EXPECT_TRUE(has_line(text, "mercure_updates_total 5")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_deliveries_total{source="live"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_deliveries_total{source="history"} 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_subscriber_disconnects_total{reason="write_timeout"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_subscriber_disconnects_total{reason="slow"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_requests_rejected_total{reason="invalid_token",status="401"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_requests_rejected_total{reason="payload_too_large",status="413"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_connections{worker="0"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_connections{worker="1"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_build_info{version="1.2.3"} 1)")) << text;
  // Seconds, with the buckets that resolve 100us .. 1s.
  EXPECT_TRUE(has_line(text, "# TYPE mercure_publish_duration_seconds histogram")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_publish_duration_seconds_bucket{le="0.0001"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_publish_duration_seconds_bucket{le="0.0005"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_publish_duration_seconds_bucket{le="1"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_publish_duration_seconds_bucket{le="+Inf"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "mercure_publish_duration_seconds_count 1")) << text;
  EXPECT_TRUE(has_line(text, "mercure_publish_duration_seconds_sum 0.0003")) << text;
  // No history: no history families.
  EXPECT_EQ(text.find("mercure_history_"), std::string::npos) << text;
}

TEST(PrometheusMetrics, ReadsTheHistoryGaugesAtEachScrape) {
  ShardedMetrics m(1);
  std::uint64_t events = 7;
  PrometheusMetrics p(
      m, "0.0.0",
      [&events] {
        return HistoryGauges{events, 65536};
      },
      true);
  m.commit_batch(3);
  EXPECT_TRUE(has_line(p.render(), "mercure_history_events 7"));
  events = 9;
  const std::string text = p.render();
  EXPECT_TRUE(has_line(text, "mercure_history_events 9")) << text;
  EXPECT_TRUE(has_line(text, "mercure_history_bytes 65536")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE mercure_history_commit_batch_size histogram")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_history_commit_batch_size_bucket{le="2"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(mercure_history_commit_batch_size_bucket{le="4"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "mercure_history_commit_batch_size_sum 3")) << text;
}

TEST(PrometheusMetrics, ReportsWhenTheServedCertificateExpiresOnlyWithTls) {
  ShardedMetrics m(1);
  std::int64_t not_after = 0;
  const PrometheusMetrics tls(m, "0.0.0", {}, false, [&not_after] { return not_after; });
  EXPECT_TRUE(has_line(tls.render(), "mercure_tls_certificate_expiry_timestamp_seconds 0"));
  not_after = 1'900'000'000;  // renewed
  const std::string text = tls.render();
  EXPECT_TRUE(has_line(text, "mercure_tls_certificate_expiry_timestamp_seconds 1900000000")) << text;
  const PrometheusMetrics plain(m, "0.0.0");
  EXPECT_EQ(plain.render().find("mercure_tls_certificate"), std::string::npos);
}

}  // namespace
}  // namespace mercure
