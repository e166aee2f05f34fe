#pragma once
// A histogram of unsigned integer observations (nanoseconds, counts) with fixed upper bounds,
// ONE writer thread and any number of readers (same rules as SingleWriterCounter).
//
// observe() is a short linear scan over the bounds plus two relaxed load/store pairs. A reader's
// snapshot is not an atomic picture: an observation in flight may be counted in its bucket and
// not yet in `sum`; `count` is derived from the buckets so the +Inf bucket always equals it.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mercure {

struct HistogramSnapshot {
  std::vector<std::uint64_t> upper_bounds;  // ascending; the +Inf bucket is implicit
  std::vector<std::uint64_t> cumulative;    // upper_bounds.size() + 1 entries, the last is +Inf
  std::uint64_t count = 0;                  // == cumulative.back()
  std::uint64_t sum = 0;                    // of the observed values

  // Adds `other` (same bounds) into this one: used to sum shards at scrape time.
  void merge(const HistogramSnapshot& other);
};

class SingleWriterHistogram final {
 public:
  static constexpr std::size_t kMaxBounds = 24;

  // `upper_bounds`: ascending, at most kMaxBounds; a value v falls in the first bucket with
  // v <= bound, else in +Inf. Must outlive the histogram (static tables).
  explicit SingleWriterHistogram(std::span<const std::uint64_t> upper_bounds);

  void observe(std::uint64_t value) noexcept;        // the writer thread only
  [[nodiscard]] HistogramSnapshot snapshot() const;  // any thread

 private:
  std::span<const std::uint64_t> bounds_;
  std::array<std::atomic<std::uint64_t>, kMaxBounds + 1> buckets_{};  // not cumulative
  std::atomic<std::uint64_t> sum_{0};
};

}  // namespace mercure
