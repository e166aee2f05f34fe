#include "core/single_writer_histogram.hpp"

#include <algorithm>
#include <stdexcept>

namespace mercure {

void HistogramSnapshot::merge(const HistogramSnapshot& other) {
  if (cumulative.empty()) {
    *this = other;
    return;
  }
  for (std::size_t i = 0; i < cumulative.size() && i < other.cumulative.size(); ++i) {
    cumulative[i] += other.cumulative[i];
  }
  count += other.count;
  sum += other.sum;
}

SingleWriterHistogram::SingleWriterHistogram(std::span<const std::uint64_t> upper_bounds) : bounds_(upper_bounds) {
  if (bounds_.size() > kMaxBounds || !std::is_sorted(bounds_.begin(), bounds_.end())) {
    throw std::invalid_argument("histogram bounds must be ascending and at most 24");
  }
}

void SingleWriterHistogram::observe(std::uint64_t value) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  auto& bucket = buckets_[i];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

HistogramSnapshot SingleWriterHistogram::snapshot() const {
  HistogramSnapshot s;
  s.upper_bounds.assign(bounds_.begin(), bounds_.end());
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace mercure
