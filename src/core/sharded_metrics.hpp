#pragma once
// The Metrics implementation that keeps the numbers: one block of counters per shard (written
// only by that shard's thread) and one block for the transport's commit path (written only by
// the thread that holds it). Nothing is shared between writers, so counting costs a few plain
// loads and stores on a cache line the writer already owns; exporters sum the blocks when they
// are scraped (snapshot()).
//
// Thread-safety: the Metrics calls follow the contract of core/metrics.hpp (a shard id must be
// below the number of shards given at construction); snapshot() may be called from any thread
// at any time.

#include "core/metrics.hpp"
#include "core/single_writer_counter.hpp"
#include "core/single_writer_histogram.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace mercure {

// Publish latency buckets, in nanoseconds: 100us .. 5s.
inline constexpr std::array<std::uint64_t, 16> kPublishDurationBoundsNs = {
    100'000,    250'000,     500'000,     1'000'000,   2'500'000,     5'000'000,     10'000'000,    25'000'000,
    50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
// Updates per history transaction: 1 .. 4096 (LMDB's default max_batch).
inline constexpr std::array<std::uint64_t, 13> kCommitBatchBounds = {1,   2,   4,   8,    16,   32,  64,
                                                                     128, 256, 512, 1024, 2048, 4096};

// Sums at one scrape.
struct MetricsSnapshot {
  std::vector<std::int64_t> connections;  // per shard (worker)
  std::int64_t subscribers_connected = 0;
  std::uint64_t subscribers_total = 0;
  std::array<std::uint64_t, kDeliverySources> deliveries{};     // by DeliverySource
  std::array<std::uint64_t, kDisconnectReasons> disconnects{};  // by DisconnectReason
  std::array<std::uint64_t, kRejectReasons> rejected{};         // by RejectReason
  std::uint64_t updates = 0;
  HistogramSnapshot publish_duration_ns;
  HistogramSnapshot commit_batch;
};

class ShardedMetrics final : public Metrics {
 public:
  explicit ShardedMetrics(unsigned shards);
  ~ShardedMetrics() override;
  ShardedMetrics(const ShardedMetrics&) = delete;
  ShardedMetrics& operator=(const ShardedMetrics&) = delete;

  void connection_opened(unsigned shard) override;
  void connection_closed(unsigned shard) override;
  void subscriber_connected(unsigned shard) override;
  void subscriber_disconnected(unsigned shard, DisconnectReason why) override;
  void delivered(unsigned shard, DeliverySource source, std::size_t events) override;
  void request_rejected(unsigned shard, RejectReason why) override;
  void publish_completed(unsigned shard, std::chrono::nanoseconds duration) override;
  void updates_committed(std::size_t updates) override;
  void commit_batch(std::size_t updates) override;

  [[nodiscard]] unsigned shards() const { return static_cast<unsigned>(shards_.size()); }
  [[nodiscard]] MetricsSnapshot snapshot() const;

 private:
  struct ShardBlock;
  struct TransportBlock;

  // One allocation per block, aligned to its own cache lines: no false sharing between writers.
  std::vector<std::unique_ptr<ShardBlock>> shards_;
  std::unique_ptr<TransportBlock> transport_;
};

}  // namespace mercure
