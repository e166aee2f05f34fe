// HistoryReplay against a history shorter than what is published during a replay: what the
// store trims under it is sent from the buffer, and a step past updates trimmed before their
// broadcast arrived waits for them.

#include "core/history_replay.hpp"

#include "fake_history.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mercure {
namespace {

using test::drain;
using test::FakeHistory;
using test::frames_of;
using test::live;
using test::pending_ids;
using test::sel;
using test::step_once;
using test::store_and_push;

// A history shorter than what is published during one replay: updates broadcast (buffered)
// while the replay runs may be trimmed from the store before the replay reads them. They are
// sent from the buffer, in order, instead of being dropped at the handover.
TEST(HistoryReplay, BufferedUpdatesTrimmedBeforeTheReplayReadThemAreSentFromTheBuffer) {
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  sub.start_replay();
  HistoryReplay replay(h, "e1");
  ASSERT_TRUE(replay.begin().has_value());
  std::string out;
  auto at_end = replay.step(sub, out, 1, 1 << 20);
  ASSERT_TRUE(at_end.has_value());
  EXPECT_EQ(out, frames_of({"e2"}));
  store_and_push(h, sub, 3, 7);
  h.trim_to(2);  // e3, e4 and e5 are gone before the replay reads them
  out += drain(replay, sub, 1);
  sub.go_live(replay.cursor());
  EXPECT_EQ(out, frames_of({"e2", "e3", "e4", "e5", "e6", "e7"}));
  EXPECT_EQ(replay.sent(), 6U);
  EXPECT_TRUE(pending_ids(sub).empty());
}

// The same when the trimming happens inside one step (a store read in several round trips):
// the buffered updates go between the frames read before and after it; on the blocking path
// (read, then apply) too.
TEST(HistoryReplay, UpdatesTrimmedDuringAStepGoBetweenItsFrames) {
  for (const bool blocking : {false, true}) {
    SCOPED_TRACE(blocking ? "read then apply" : "step");
    FakeHistory h;
    Subscriber sub(sel({"/a"}), std::nullopt, {});
    sub.start_replay();
    HistoryReplay replay(h, "earliest");
    ASSERT_TRUE(replay.begin().has_value());
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
      const std::string id = "e" + std::to_string(seq);
      h.add(id, {seq == 4 ? "/b" : "/a"});
      if (seq != 4) sub.push(live(seq, id));
    }
    int visited = 0;
    h.between_events = [&] {
      if (++visited == 2) h.trim_to(2);  // after e2: e3 and e4 go, e5 and e6 stay
    };
    std::string out = "head|";
    Result<bool> at_end = step_once(replay, h, sub, out, blocking);
    ASSERT_TRUE(at_end.has_value());
    EXPECT_TRUE(*at_end);
    EXPECT_EQ(out, "head|" + frames_of({"e1", "e2", "e3", "e5", "e6"}));
    EXPECT_EQ(replay.sent(), 5U);
    sub.go_live(replay.cursor());
    EXPECT_TRUE(pending_ids(sub).empty());
  }
}

// What the step covered leaves the buffer at once (already replayed); what is newer stays.
TEST(HistoryReplay, AStepTakesTheBufferedUpdatesItCovered) {
  FakeHistory h;
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  sub.start_replay();
  HistoryReplay replay(h, "earliest");
  ASSERT_TRUE(replay.begin().has_value());
  store_and_push(h, sub, 1, 4);
  std::string out;
  ASSERT_TRUE(replay.step(sub, out, 2, 1 << 20).has_value());
  EXPECT_EQ(out, frames_of({"e1", "e2"}));
  EXPECT_EQ(pending_ids(sub), (std::vector<std::string>{"e3", "e4"}));
}

// An update the store trimmed before its broadcast reached the subscriber: the step that finds
// the gap holds its frames until the gate says every update below the oldest stored one was
// handed over, then sends them after those from the buffer. Both paths (step; read, then apply).
TEST(HistoryReplay, AStepPastEventsTrimmedBeforeTheirBroadcastWaitsForTheGate) {
  for (const bool blocking : {false, true}) {
    SCOPED_TRACE(blocking ? "read then apply" : "step");
    FakeHistory h;
    h.add("e1", {"/a"});
    h.add("e2", {"/a"});
    Subscriber sub(sel({"/a"}), std::nullopt, {});
    sub.start_replay();
    HistoryReplay replay(h, "e1");
    std::uint64_t dispatched = 2;  // the updates broadcast so far reached the subscriber
    replay.set_gate([&](std::uint64_t below) { return below <= dispatched + 1; });
    ASSERT_TRUE(replay.begin().has_value());
    std::string out;
    ASSERT_TRUE(replay.step(sub, out, 1, 1 << 20).has_value());
    EXPECT_EQ(out, frames_of({"e2"}));
    for (std::uint64_t seq = 3; seq <= 7; ++seq) h.add("e" + std::to_string(seq), {"/a"});
    sub.push(live(3, "e3"));
    dispatched = 3;
    h.trim_to(2);  // e3 to e5 are gone; e4 and e5 have not reached the subscriber yet

    Result<bool> at_end = step_once(replay, h, sub, out, blocking);
    ASSERT_TRUE(at_end.has_value());
    EXPECT_FALSE(*at_end);
    EXPECT_TRUE(replay.held());
    EXPECT_EQ(out, frames_of({"e2"}));  // nothing more yet
    at_end = replay.step(sub, out, 100, 1 << 20);
    ASSERT_TRUE(at_end.has_value());
    EXPECT_FALSE(*at_end);  // still waiting
    EXPECT_EQ(replay.cursor(), 2U);

    sub.push(live(4, "e4"));
    sub.push(live(5, "e5"));
    dispatched = 5;
    at_end = replay.step(sub, out, 100, 1 << 20);
    ASSERT_TRUE(at_end.has_value());
    EXPECT_TRUE(*at_end);
    EXPECT_FALSE(replay.held());
    EXPECT_EQ(replay.cursor(), 7U);
    sub.push(live(6, "e6"));  // replayed from the store already
    sub.push(live(7, "e7"));
    sub.push(live(8, "e8"));
    sub.go_live(replay.cursor());
    EXPECT_EQ(out, frames_of({"e2", "e3", "e4", "e5", "e6", "e7"}));
    EXPECT_EQ(replay.sent(), 6U);
    EXPECT_EQ(pending_ids(sub), (std::vector<std::string>{"e8"}));
  }
}

// Without a gate, or with events gone only below the cursor, nothing is held.
TEST(HistoryReplay, NothingIsHeldWithoutAGateOrAGapAfterTheCursor) {
  FakeHistory h;
  for (int i = 1; i <= 6; ++i) h.add("e" + std::to_string(i), {"/a"});
  h.trim_to(3);  // e4 to e6
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  HistoryReplay replay(h, "e4");
  replay.set_gate([](std::uint64_t) { return false; });
  ASSERT_TRUE(replay.begin().has_value());
  EXPECT_EQ(drain(replay, sub), frames_of({"e5", "e6"}));
  EXPECT_FALSE(replay.held());

  HistoryReplay ungated(h, "earliest");
  ASSERT_TRUE(ungated.begin().has_value());
  EXPECT_EQ(drain(ungated, sub), frames_of({"e4", "e5", "e6"}));
}

// Updates trimmed from the store before the replay read them that the buffer also dropped (it
// overflowed while replaying) are nowhere any more: the step fails (the stream ends, as a live
// one that overflows) instead of sending what follows them. Dropped updates the store still
// has are read from it.
TEST(HistoryReplay, UpdatesTrimmedAndDroppedFromTheBufferEndTheReplay) {
  struct Outcome {
    Result<bool> at_end;
    std::string out;
  };
  for (const bool blocking : {false, true}) {
    SCOPED_TRACE(blocking ? "read then apply" : "step");
    const auto run = [&](std::size_t keep) {
      FakeHistory h;
      h.add("e1", {"/a"});
      h.add("e2", {"/a"});
      Subscriber sub(sel({"/a"}), std::nullopt, OutboxLimits{3, 1 << 20});
      sub.start_replay();
      HistoryReplay replay(h, "e1");
      EXPECT_TRUE(replay.begin().has_value());
      std::string out;
      EXPECT_TRUE(replay.step(sub, out, 1, 1 << 20).has_value());
      store_and_push(h, sub, 3, 8);  // e3 to e6 overflow the buffer; e7, e8 stay
      EXPECT_EQ(sub.replay_drops(), 1U);
      h.trim_to(keep);
      Result<bool> at_end = step_once(replay, h, sub, out, blocking);
      // Not make_pair: a Result<bool> direct-initialized from a non-const lvalue turns an
      // error into a value (boost::system::result's converting constructor wins).
      return Outcome{std::move(at_end), out};
    };
    const auto [lost, lost_out] = run(3);  // e3 to e5 are gone from both
    ASSERT_FALSE(lost.has_value());
    EXPECT_EQ(lost.error().code, Errc::unavailable);
    EXPECT_EQ(lost.error().check, HistoryReplay::kFellBehind);  // the stream ends as `slow`
    EXPECT_EQ(lost_out, frames_of({"e2"}));                     // nothing past the gap

    const auto [kept, kept_out] = run(6);  // the store still has every dropped one
    ASSERT_TRUE(kept.has_value());
    EXPECT_TRUE(*kept);
    EXPECT_EQ(kept_out, frames_of({"e2", "e3", "e4", "e5", "e6", "e7", "e8"}));
  }
}

}  // namespace
}  // namespace mercure
