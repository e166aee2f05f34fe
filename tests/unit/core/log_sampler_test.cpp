#include "core/log_sampler.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

using namespace std::chrono_literals;
using Clock = LogSampler::Clock;

TEST(LogSampler, LogsTheBurstThenCountsWhatItLeavesOut) {
  LogSampler sampler(3, 1s);
  const Clock::time_point t0 = Clock::time_point{} + 100s;
  std::uint64_t left_out = 99;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sampler.admit(t0 + std::chrono::milliseconds(i), left_out)) << i;
    EXPECT_EQ(left_out, 0u);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(sampler.admit(t0 + 10ms, left_out));
  // Still the same second: still left out.
  EXPECT_FALSE(sampler.admit(t0 + 999ms, left_out));
  // The next second: logged again, and told how many were not.
  ASSERT_TRUE(sampler.admit(t0 + 1s, left_out));
  EXPECT_EQ(left_out, 6u);
  ASSERT_TRUE(sampler.admit(t0 + 1s + 1ms, left_out));
  EXPECT_EQ(left_out, 0u);  // said once only
}

TEST(LogSampler, AQuietLogIsNeverSampled) {
  LogSampler sampler(2, 1s);
  Clock::time_point t = Clock::time_point{} + 5s;
  std::uint64_t left_out = 0;
  for (int i = 0; i < 50; ++i) {
    t += 600ms;  // at most two lines in any second
    ASSERT_TRUE(sampler.admit(t, left_out)) << i;
    EXPECT_EQ(left_out, 0u);
  }
}

}  // namespace
}  // namespace mercure
