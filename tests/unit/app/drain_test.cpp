#include "app/drain.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Config with(std::optional<milliseconds> grace, milliseconds write_timeout = seconds(600)) {
  Config c;
  c.grace_period = grace;
  c.write_timeout = write_timeout;
  return c;
}

TEST(Drain, StreamsDrainByDefaultOnlyWhenOtherHubsStillFeedThem) {
  EXPECT_EQ(drain_limit(with(std::nullopt), true), milliseconds(seconds(600)));
  EXPECT_EQ(drain_limit(with(std::nullopt), false), std::nullopt);
}

TEST(Drain, GracePeriodChoosesAndWriteTimeoutBoundsIt) {
  EXPECT_EQ(drain_limit(with(seconds(30)), false), milliseconds(seconds(30)));
  EXPECT_EQ(drain_limit(with(seconds(30)), true), milliseconds(seconds(30)));
  EXPECT_EQ(drain_limit(with(seconds(0)), true), std::nullopt);
  // Every stream has ended by write_timeout: no longer wait.
  EXPECT_EQ(drain_limit(with(seconds(900), seconds(60)), false), milliseconds(seconds(60)));
  // Streams without an end of life: draining would never end.
  EXPECT_EQ(drain_limit(with(seconds(30), milliseconds(0)), true), std::nullopt);
  EXPECT_EQ(drain_limit(with(std::nullopt, milliseconds(0)), true), std::nullopt);
}

}  // namespace
}  // namespace mercure
