#include "core/sharded_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace mercure {
namespace {

using namespace std::chrono_literals;

std::size_t at(auto e) {
  return static_cast<std::size_t>(e);
}

TEST(ShardedMetrics, SumsTheShardsAtSnapshot) {
  ShardedMetrics m(3);
  m.subscriber_connected(0);
  m.subscriber_connected(1);
  m.subscriber_connected(2);
  m.subscriber_disconnected(1, DisconnectReason::slow);
  m.delivered(0, DeliverySource::live, 5);
  m.delivered(2, DeliverySource::live, 2);
  m.delivered(2, DeliverySource::history, 7);
  m.request_rejected(0, RejectReason::invalid_token);
  m.request_rejected(2, RejectReason::invalid_token);
  m.request_rejected(1, RejectReason::not_found);

  const MetricsSnapshot s = m.snapshot();
  EXPECT_EQ(s.subscribers_connected, 2);
  EXPECT_EQ(s.subscribers_total, 3U);
  EXPECT_EQ(s.disconnects[at(DisconnectReason::slow)], 1U);
  EXPECT_EQ(s.disconnects[at(DisconnectReason::client_gone)], 0U);
  EXPECT_EQ(s.deliveries[at(DeliverySource::live)], 7U);
  EXPECT_EQ(s.deliveries[at(DeliverySource::history)], 7U);
  EXPECT_EQ(s.rejected[at(RejectReason::invalid_token)], 2U);
  EXPECT_EQ(s.rejected[at(RejectReason::not_found)], 1U);
  EXPECT_EQ(s.rejected[at(RejectReason::missing_token)], 0U);
}

TEST(ShardedMetrics, KeepsConnectionsPerShard) {
  ShardedMetrics m(2);
  m.connection_opened(0);
  m.connection_opened(1);
  m.connection_opened(1);
  m.connection_closed(1);
  EXPECT_EQ(m.snapshot().connections, (std::vector<std::int64_t>{1, 1}));
}

TEST(ShardedMetrics, HasAtLeastOneShard) {
  ShardedMetrics m(0);
  EXPECT_EQ(m.shards(), 1U);
  m.connection_opened(0);
  EXPECT_EQ(m.snapshot().connections, (std::vector<std::int64_t>{1}));
}

TEST(ShardedMetrics, RecordsPublishLatencyInNanosecondBuckets) {
  ShardedMetrics m(2);
  m.publish_completed(0, 50us);  // <= 100us
  m.publish_completed(1, 3ms);   // <= 5ms
  m.publish_completed(1, 20s);   // +Inf
  const MetricsSnapshot s = m.snapshot();
  const auto& h = s.publish_duration_ns;
  ASSERT_EQ(h.upper_bounds.size(), kPublishDurationBoundsNs.size());
  EXPECT_EQ(h.upper_bounds.front(), 100'000U);  // 100us
  EXPECT_EQ(h.cumulative[0], 1U);
  EXPECT_EQ(h.cumulative[5], 2U);  // 5ms
  EXPECT_EQ(h.cumulative[h.upper_bounds.size() - 1], 2U);
  EXPECT_EQ(h.count, 3U);
  EXPECT_EQ(h.sum, 50'000U + 3'000'000U + 20'000'000'000U);
}

TEST(ShardedMetrics, CountsCommitsFromTheTransport) {
  ShardedMetrics m(1);
  m.commit_batch(1);
  m.commit_batch(3);
  m.updates_committed(1);
  m.updates_committed(2);  // one of three was a duplicate id
  const MetricsSnapshot s = m.snapshot();
  EXPECT_EQ(s.updates, 3U);
  EXPECT_EQ(s.commit_batch.count, 2U);
  EXPECT_EQ(s.commit_batch.cumulative[0], 1U);  // <= 1
  EXPECT_EQ(s.commit_batch.cumulative[2], 2U);  // <= 4
  EXPECT_EQ(s.commit_batch.sum, 4U);
}

TEST(ShardedMetrics, EachShardThreadCountsWithoutLosingIncrements) {
  constexpr unsigned kShards = 4;
  constexpr int kEvents = 100'000;
  ShardedMetrics m(kShards);
  std::vector<std::thread> threads;
  for (unsigned shard = 0; shard < kShards; ++shard) {
    threads.emplace_back([&m, shard] {
      for (int i = 0; i < kEvents; ++i) {
        m.delivered(shard, DeliverySource::live, 1);
        m.subscriber_connected(shard);
        m.subscriber_disconnected(shard, DisconnectReason::client_gone);
      }
    });
  }
  // A scraper reads concurrently: it never sees more than was counted.
  for (int i = 0; i < 100; ++i) EXPECT_LE(m.snapshot().deliveries[0], std::uint64_t{kShards} * kEvents);
  for (auto& t : threads) t.join();
  const MetricsSnapshot s = m.snapshot();
  EXPECT_EQ(s.deliveries[at(DeliverySource::live)], std::uint64_t{kShards} * kEvents);
  EXPECT_EQ(s.subscribers_total, std::uint64_t{kShards} * kEvents);
  EXPECT_EQ(s.subscribers_connected, 0);
  EXPECT_EQ(s.disconnects[at(DisconnectReason::client_gone)], std::uint64_t{kShards} * kEvents);
}

TEST(NullMetrics, AcceptsEveryEvent) {
  NullMetrics m;
  Metrics& any = m;
  any.connection_opened(7);
  any.subscriber_disconnected(7, DisconnectReason::shutdown);
  any.publish_completed(7, 1ms);
  any.commit_batch(10);
  SUCCEED();
}

}  // namespace
}  // namespace mercure
