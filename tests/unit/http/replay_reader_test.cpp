// ReplayReader: a replay as the event stream drives it, read in place or on reader threads,
// waiting for the shard's dispatch when the store trimmed events under it.

#include "http/replay_reader.hpp"

#include "../core/fake_history.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mercure {
namespace {

using test::FakeHistory;
using test::frames_of;
using test::live;
using test::pending_ids;
using test::sel;

// Stores e<first>..e<last> on /a and broadcasts them to `sub`, as a shard's dispatch does.
void publish(FakeHistory& h, Subscriber& sub, DispatchProgress& dispatch, std::uint64_t first, std::uint64_t last) {
  test::store_and_push(h, sub, first, last);
  dispatch.dispatched(last);
}

// A step past events trimmed before their broadcast reached the shard waits for its dispatch;
// the buffer overflows meanwhile, dropping updates stored after the held step's read: the
// step that hands it over reads again instead of going live without them.
TEST(ReplayReader, AHeldStepReadsAgainWhenTheBufferDroppedUpdatesWhileItWaited) {
  boost::asio::io_context shard;
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  DispatchProgress dispatch;
  dispatch.set_base(2);  // e1 and e2 were stored before the hub started
  Subscriber sub(sel({"/a"}), std::nullopt, OutboxLimits{3, 1 << 20});
  sub.start_replay();
  auto replay = std::make_unique<HistoryReplay>(h, "e2");
  ASSERT_TRUE(replay->begin().has_value());
  ReplayReader reader(std::move(replay), nullptr, shard, &dispatch);
  int woken = 0;
  const auto wake = [&] { ++woken; };
  std::string out;

  // e3 and e4 (another topic: never pushed to this subscriber) are trimmed before their
  // broadcast reached the shard.
  h.add("e3", {"/b"});
  h.add("e4", {"/b"});
  h.add("e5", {"/a"});
  h.add("e6", {"/a"});
  h.trim_to(2);
  auto step = reader.step(sub, out, 100, 1 << 20, wake);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*step, ReplayReader::Step::waiting);
  EXPECT_TRUE(reader.reading());
  EXPECT_EQ(reader.step(sub, out, 100, 1 << 20, wake).value(), ReplayReader::Step::waiting);
  EXPECT_EQ(woken, 0);

  // One dispatch gets e3 to e10 to the shard: e5 to e8 overflow the buffer of 3, e9 and e10
  // stay in it. e7 and e8 are only in the store now.
  for (std::uint64_t seq = 5; seq <= 6; ++seq) sub.push(live(seq, "e" + std::to_string(seq)));
  publish(h, sub, dispatch, 7, 10);
  EXPECT_EQ(sub.replay_drops(), 1U);
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(reader.reading());

  step = reader.step(sub, out, 100, 1 << 20, wake);  // the held step, up to e6: the end it saw
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*step, ReplayReader::Step::more);
  EXPECT_EQ(out, frames_of({"e5", "e6"}));
  step = reader.step(sub, out, 100, 1 << 20, wake);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*step, ReplayReader::Step::done);
  sub.go_live(reader.cursor());
  EXPECT_EQ(out, frames_of({"e5", "e6", "e7", "e8", "e9", "e10"}));
  EXPECT_TRUE(pending_ids(sub).empty());
}

// Runs `shard` until `woken` moves, or fails after a deadline.
bool run_until_woken(boost::asio::io_context& shard, const int& woken) {
  const int before = woken;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (woken == before && std::chrono::steady_clock::now() < deadline) {
    shard.restart();
    shard.run_one_for(std::chrono::milliseconds(100));
  }
  return woken != before;
}

// On a history whose reads block, a read that reached the end says `more` when the buffer
// dropped updates after the read was asked for.
TEST(ReplayReader, ABlockingReadAtTheEndReadsAgainWhenTheBufferDroppedUpdatesSince) {
  boost::asio::io_context shard;
  HistoryReaders readers(1);
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  DispatchProgress dispatch;  // no base: nothing is waited for
  Subscriber sub(sel({"/a"}), std::nullopt, OutboxLimits{3, 1 << 20});
  sub.start_replay();
  auto replay = std::make_unique<HistoryReplay>(h, "e1");
  ASSERT_TRUE(replay->begin().has_value());
  ReplayReader reader(std::move(replay), &readers, shard, &dispatch);
  int woken = 0;
  const auto wake = [&] { ++woken; };
  std::string out;
  ASSERT_EQ(reader.step(sub, out, 100, 1 << 20, wake).value(), ReplayReader::Step::waiting);
  ASSERT_TRUE(run_until_woken(shard, woken));
  publish(h, sub, dispatch, 3, 6);  // after the read: e3 to e6 overflow the buffer
  EXPECT_EQ(sub.replay_drops(), 1U);

  auto step = reader.step(sub, out, 100, 1 << 20, wake);  // the batch read: e2, the end
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*step, ReplayReader::Step::more);
  ASSERT_EQ(reader.step(sub, out, 100, 1 << 20, wake).value(), ReplayReader::Step::waiting);
  ASSERT_TRUE(run_until_woken(shard, woken));
  step = reader.step(sub, out, 100, 1 << 20, wake);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(*step, ReplayReader::Step::done);
  sub.go_live(reader.cursor());
  EXPECT_EQ(out, frames_of({"e2", "e3", "e4", "e5", "e6"}));
  readers.stop();
  readers.join();
}

TEST(ReplayReader, AStepThatFellBehindEndsTheStreamAsSlowAndAFailedReadAsHistoryFailed) {
  const Error behind{Errc::unavailable, "the subscriber fell behind", HistoryReplay::kFellBehind};
  EXPECT_EQ(end_of_failed_replay(behind, "127.0.0.1:1"), DisconnectReason::slow);
  const Error unreadable{Errc::unavailable, "the store could not be read"};
  EXPECT_EQ(end_of_failed_replay(unreadable, "127.0.0.1:1"), DisconnectReason::history_failed);
}

}  // namespace
}  // namespace mercure
