#include "core/single_writer_histogram.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mercure {
namespace {

constexpr std::array<std::uint64_t, 3> kBounds = {10, 100, 1000};

TEST(SingleWriterHistogram, CountsEachValueInTheFirstBucketItFitsCumulatively) {
  SingleWriterHistogram h(kBounds);
  for (std::uint64_t v : {0, 10, 11, 100, 999, 1000, 1001, 5000}) h.observe(v);
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.upper_bounds, (std::vector<std::uint64_t>{10, 100, 1000}));
  // <=10: 0, 10; <=100: + 11, 100; <=1000: + 999, 1000; +Inf: + 1001, 5000.
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 4, 6, 8}));
  EXPECT_EQ(s.count, 8U);
  EXPECT_EQ(s.sum, 0U + 10 + 11 + 100 + 999 + 1000 + 1001 + 5000);
}

TEST(SingleWriterHistogram, StartsEmpty) {
  SingleWriterHistogram h(kBounds);
  const HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0, 0, 0}));
  EXPECT_EQ(s.count, 0U);
  EXPECT_EQ(s.sum, 0U);
}

TEST(SingleWriterHistogram, MergesSnapshotsBucketByBucket) {
  SingleWriterHistogram a(kBounds);
  SingleWriterHistogram b(kBounds);
  a.observe(5);
  b.observe(50);
  b.observe(5000);
  HistogramSnapshot sum;
  sum.merge(a.snapshot());
  sum.merge(b.snapshot());
  EXPECT_EQ(sum.cumulative, (std::vector<std::uint64_t>{1, 2, 2, 3}));
  EXPECT_EQ(sum.count, 3U);
  EXPECT_EQ(sum.sum, 5055U);
}

TEST(SingleWriterHistogram, RefusesUnsortedBounds) {
  static constexpr std::array<std::uint64_t, 2> kUnsorted = {10, 5};
  EXPECT_THROW(SingleWriterHistogram{kUnsorted}, std::invalid_argument);
}

TEST(SingleWriterHistogram, AReaderSeesAConsistentCountWhileTheWriterObserves) {
  SingleWriterHistogram h(kBounds);
  constexpr std::uint64_t kObservations = 200'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t i = 0; i < kObservations; ++i) h.observe(i % 2000);
    done = true;
  });
  std::uint64_t last = 0;
  while (!done) {
    const HistogramSnapshot s = h.snapshot();
    EXPECT_EQ(s.count, s.cumulative.back());
    for (std::size_t i = 1; i < s.cumulative.size(); ++i) EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
    EXPECT_GE(s.count, last);  // counts only grow
    last = s.count;
  }
  writer.join();
  EXPECT_EQ(h.snapshot().count, kObservations);
}

}  // namespace
}  // namespace mercure
