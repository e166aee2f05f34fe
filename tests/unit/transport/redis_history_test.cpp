#include "transport/redis_history.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

TEST(RedisScanChunk, AReplayStepsWorthOfFramesOfTheSizeSeen) {
  EXPECT_EQ(scan_chunk(1024, kScanReadBytes / 127), 128U) << "the first guess";
  // 160-byte frames: a step stops at the 410th (64 KiB); one read of 461 holds it.
  EXPECT_EQ(scan_chunk(1024, 160), 461U);
  EXPECT_GT(scan_chunk(1024, 160), 64U * 1024 / 160 + 1);
  EXPECT_EQ(scan_chunk(1024, 64), 1024U);
  EXPECT_EQ(scan_chunk(1024, 20 * 1024), 4U);
}

TEST(RedisScanChunk, AtLeastOneAtMostWhatIsLeft) {
  EXPECT_EQ(scan_chunk(1024, 400 * 1024), 1U) << "frames larger than a step: one at a time";
  EXPECT_EQ(scan_chunk(1024, 0), 1024U);
  EXPECT_EQ(scan_chunk(10, 160), 10U);
  EXPECT_EQ(scan_chunk(1, 1), 1U);
}

}  // namespace
}  // namespace mercure
