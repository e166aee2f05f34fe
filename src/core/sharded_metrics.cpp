#include "core/sharded_metrics.hpp"

#include <algorithm>

namespace mercure {

struct alignas(64) ShardedMetrics::ShardBlock {
  SingleWriterGauge connections;
  SingleWriterGauge subscribers_connected;
  SingleWriterCounter subscribers_total;
  std::array<SingleWriterCounter, kDeliverySources> deliveries;
  std::array<SingleWriterCounter, kDisconnectReasons> disconnects;
  std::array<SingleWriterCounter, kRejectReasons> rejected;
  SingleWriterHistogram publish_duration{kPublishDurationBoundsNs};
};

struct alignas(64) ShardedMetrics::TransportBlock {
  SingleWriterCounter updates;
  SingleWriterHistogram commit_batch{kCommitBatchBounds};
};

ShardedMetrics::ShardedMetrics(unsigned shards) : transport_(std::make_unique<TransportBlock>()) {
  shards_.reserve(std::max(1U, shards));
  for (unsigned i = 0; i < std::max(1U, shards); ++i) shards_.push_back(std::make_unique<ShardBlock>());
}

ShardedMetrics::~ShardedMetrics() = default;

void ShardedMetrics::connection_opened(unsigned shard) {
  shards_[shard]->connections.increment();
}

void ShardedMetrics::connection_closed(unsigned shard) {
  shards_[shard]->connections.decrement();
}

void ShardedMetrics::subscriber_connected(unsigned shard) {
  auto& s = *shards_[shard];
  s.subscribers_connected.increment();
  s.subscribers_total.add();
}

void ShardedMetrics::subscriber_disconnected(unsigned shard, DisconnectReason why) {
  auto& s = *shards_[shard];
  s.subscribers_connected.decrement();
  s.disconnects[static_cast<std::size_t>(why)].add();
}

void ShardedMetrics::delivered(unsigned shard, DeliverySource source, std::size_t events) {
  shards_[shard]->deliveries[static_cast<std::size_t>(source)].add(events);
}

void ShardedMetrics::request_rejected(unsigned shard, RejectReason why) {
  shards_[shard]->rejected[static_cast<std::size_t>(why)].add();
}

void ShardedMetrics::publish_completed(unsigned shard, std::chrono::nanoseconds duration) {
  shards_[shard]->publish_duration.observe(static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count())));
}

void ShardedMetrics::updates_committed(std::size_t updates) {
  transport_->updates.add(updates);
}

void ShardedMetrics::commit_batch(std::size_t updates) {
  transport_->commit_batch.observe(updates);
}

MetricsSnapshot ShardedMetrics::snapshot() const {
  MetricsSnapshot out;
  out.connections.reserve(shards_.size());
  for (const auto& block : shards_) {
    const ShardBlock& s = *block;
    out.connections.push_back(s.connections.value());
    out.subscribers_connected += s.subscribers_connected.value();
    out.subscribers_total += s.subscribers_total.value();
    for (std::size_t i = 0; i < kDeliverySources; ++i) out.deliveries[i] += s.deliveries[i].value();
    for (std::size_t i = 0; i < kDisconnectReasons; ++i) out.disconnects[i] += s.disconnects[i].value();
    for (std::size_t i = 0; i < kRejectReasons; ++i) out.rejected[i] += s.rejected[i].value();
    out.publish_duration_ns.merge(s.publish_duration.snapshot());
  }
  out.updates = transport_->updates.value();
  out.commit_batch = transport_->commit_batch.snapshot();
  return out;
}

}  // namespace mercure
