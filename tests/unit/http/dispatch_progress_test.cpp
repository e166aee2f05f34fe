#include "http/dispatch_progress.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

TEST(DispatchProgress, WithoutABaseNothingIsWaitedFor) {
  DispatchProgress p;
  EXPECT_TRUE(p.dispatched_below(1'000'000));
  p.set_base(std::nullopt);
  p.dispatched(3);
  EXPECT_TRUE(p.dispatched_below(1'000'000));
}

TEST(DispatchProgress, CountsFromTheBaseAndOnlyMovesForward) {
  DispatchProgress p;
  p.set_base(10);  // updates up to 10 were stored before the first broadcast
  EXPECT_TRUE(p.dispatched_below(11));
  EXPECT_FALSE(p.dispatched_below(12));
  p.dispatched(14);
  EXPECT_TRUE(p.dispatched_below(15));
  EXPECT_FALSE(p.dispatched_below(16));
  p.dispatched(12);  // an older seq never moves it back
  EXPECT_TRUE(p.dispatched_below(15));
}

TEST(DispatchProgress, WakesEachWaiterOnceAfterTheNextDispatch) {
  DispatchProgress p;
  p.set_base(0);
  int first = 0;
  int second = 0;
  p.on_next_dispatch([&] { ++first; });
  p.on_next_dispatch([&] {
    ++second;
    p.on_next_dispatch([&] { ++second; });  // registers again for the one after
  });
  EXPECT_EQ(first, 0);
  p.dispatched(1);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  p.dispatched(2);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
}

}  // namespace
}  // namespace mercure
