#include "http/shard_balance.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace mercure {
namespace {

TEST(ShardBalance, KeepsTheConnectionWithinTheSlack) {
  const std::array<std::size_t, 2> even{10, 10};
  EXPECT_EQ(pick_shard(0, even), 0U);
  EXPECT_EQ(pick_shard(1, even), 1U);
  const std::array<std::size_t, 2> two_more{12, 10};
  EXPECT_EQ(pick_shard(0, two_more), 0U);
  const std::array<std::size_t, 2> fewer{0, 5};
  EXPECT_EQ(pick_shard(0, fewer), 0U) << "the accepting shard is the least loaded";
}

TEST(ShardBalance, HandsOverToTheLeastLoadedPastTheSlack) {
  const std::array<std::size_t, 2> three_more{13, 10};
  EXPECT_EQ(pick_shard(0, three_more), 1U);
  const std::array<std::size_t, 4> four{40, 30, 20, 20};
  EXPECT_EQ(pick_shard(0, four), 2U) << "the first of the least loaded";
  EXPECT_EQ(pick_shard(1, four), 2U);
  const std::array<std::size_t, 1> alone{1000};
  EXPECT_EQ(pick_shard(0, alone), 0U);
}

TEST(ShardBalance, TheSlackGrowsWithTheLoad) {
  // 1 in 64 of the accepting shard's connections on top of 2: 6,400 against 6,300 is kept,
  // 6,400 against 6,297 is not.
  EXPECT_EQ(balance_slack(6400), 102U);
  const std::array<std::size_t, 2> close{6400, 6300};
  EXPECT_EQ(pick_shard(0, close), 0U);
  const std::array<std::size_t, 2> far{6400, 6297};
  EXPECT_EQ(pick_shard(0, far), 1U);
}

TEST(ShardBalance, ConnectionsAcceptedOnOneShardEndUpEven) {
  // Every connection arrives on shard 0 (the worst hash): the counts stay within the slack.
  std::vector<std::size_t> loads(2, 0);
  for (int i = 0; i < 1000; ++i) ++loads[pick_shard(0, loads)];
  EXPECT_LE(loads[0] - loads[1], balance_slack(loads[0]) + 1);
  EXPECT_GE(loads[0], loads[1]);
}

}  // namespace
}  // namespace mercure
