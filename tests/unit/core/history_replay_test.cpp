#include "core/history_replay.hpp"

#include "fake_history.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mercure {
namespace {

using test::drain;
using test::FakeHistory;
using test::live;
using test::pending_ids;
using test::sel;
using test::store_and_push;

TEST(HistoryReplay, ResumesAfterAStoredIdAndEchoesIt) {
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  h.add("e3", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  HistoryReplay replay(h, "e1");
  auto start = replay.begin();
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->response_last_event_id, "e1");
  EXPECT_FALSE(start->replay_nothing);
  EXPECT_EQ(drain(replay, sub), "id: e2\ndata: x\n\nid: e3\ndata: x\n\n");
  EXPECT_EQ(replay.cursor(), 3U);
  EXPECT_EQ(replay.sent(), 2U);
}

TEST(HistoryReplay, EarliestReplaysEverythingAndSaysEarliest) {
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  HistoryReplay replay(h, "earliest");
  auto start = replay.begin();
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->response_last_event_id, "earliest");
  EXPECT_EQ(drain(replay, sub), "id: e1\ndata: x\n\nid: e2\ndata: x\n\n");
}

TEST(HistoryReplay, UnknownIdReplaysNothingAndSaysEarliest) {
  FakeHistory h;
  h.add("e1", {"/a"});
  HistoryReplay replay(h, "gone");
  auto start = replay.begin();
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(start->response_last_event_id, "earliest");
  EXPECT_TRUE(start->replay_nothing);
}

TEST(HistoryReplay, SendsOnlyWhatTheSubscriberMatchesAndMaySee) {
  FakeHistory h;
  h.add("pub-a", {"/a"});
  h.add("pub-b", {"/b"});
  h.add("priv-a", {"/a"}, true);
  h.add("priv-alt", {"/other", "/a"}, true);
  Subscriber anonymous(sel({"/a"}), std::nullopt, {});
  HistoryReplay r1(h, "earliest");
  ASSERT_TRUE(r1.begin().has_value());
  EXPECT_EQ(drain(r1, anonymous), "id: pub-a\ndata: x\n\n");

  Subscriber allowed(sel({"/a"}), sel({"/other"}), {});
  HistoryReplay r2(h, "earliest");
  ASSERT_TRUE(r2.begin().has_value());
  EXPECT_EQ(drain(r2, allowed), "id: pub-a\ndata: x\n\nid: priv-alt\ndata: x\n\n");
}

TEST(HistoryReplay, StepsAreBoundedByEventsAndBytes) {
  FakeHistory h;
  for (int i = 0; i < 10; ++i) h.add("e" + std::to_string(i), {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  HistoryReplay replay(h, "earliest");
  ASSERT_TRUE(replay.begin().has_value());
  std::string out;
  auto first = replay.step(sub, out, 3, 1 << 20);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(*first);
  EXPECT_EQ(replay.cursor(), 3U);
  out.clear();
  auto second = replay.step(sub, out, 100, 1);  // one frame fills the byte budget
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(*second);
  EXPECT_EQ(out, "id: e3\ndata: x\n\n");
  EXPECT_EQ(replay.cursor(), 4U);
}

// A blocking history's step in two halves: read() scans and filters with a copy of the
// subscriber's filter (on another thread in the hub), apply() hands the frames over and moves
// the cursor; both bounded as step() is. keep_going() saying no ends the batch before an event.
TEST(HistoryReplay, ReadThenApplySendsWhatStepWouldAndMovesTheCursorOnApply) {
  FakeHistory h;
  h.add("pub-a", {"/a"});
  h.add("pub-b", {"/b"});
  h.add("priv-alt", {"/other", "/a"}, true);
  for (int i = 0; i < 5; ++i) h.add("e" + std::to_string(i), {"/a"});
  Subscriber allowed(sel({"/a"}), sel({"/other"}), {});
  const auto always = [] { return true; };
  HistoryReplay replay(h, "pub-a");
  ASSERT_TRUE(replay.begin().has_value());

  const HistoryReplay::Batch first = HistoryReplay::read(h, replay.cursor(), allowed.filter(), 3, 1 << 20, always);
  ASSERT_TRUE(first.scanned.has_value());
  EXPECT_EQ(first.frames, "id: priv-alt\ndata: x\n\nid: e0\ndata: x\n\n");  // pub-b filtered out
  EXPECT_EQ(replay.cursor(), 1U);                                           // reading alone moves nothing
  std::string out;
  auto at_end = replay.apply(first, allowed, out);
  ASSERT_TRUE(at_end.has_value());
  EXPECT_FALSE(*at_end);
  EXPECT_EQ(out, first.frames);
  EXPECT_EQ(replay.cursor(), 4U);
  EXPECT_EQ(replay.sent(), 2U);

  // A byte budget of one frame stops the read after the first frame let through.
  out.clear();
  at_end = replay.apply(HistoryReplay::read(h, replay.cursor(), allowed.filter(), 100, 1, always), allowed, out);
  ASSERT_TRUE(at_end.has_value());
  EXPECT_FALSE(*at_end);
  EXPECT_EQ(out, "id: e1\ndata: x\n\n");
  EXPECT_EQ(replay.cursor(), 5U);

  // Told to stop after one event: the batch ends before the second, not at the end.
  int calls = 0;
  const HistoryReplay::Batch cut =
      HistoryReplay::read(h, replay.cursor(), allowed.filter(), 100, 1 << 20, [&] { return ++calls <= 1; });
  ASSERT_TRUE(cut.scanned.has_value());
  EXPECT_EQ(cut.frames, "id: e2\ndata: x\n\n");
  EXPECT_EQ(cut.scanned->last_seq, 6U);
  EXPECT_FALSE(cut.scanned->at_end);

  out.clear();
  at_end = replay.apply(HistoryReplay::read(h, replay.cursor(), allowed.filter(), 100, 1 << 20, always), allowed, out);
  ASSERT_TRUE(at_end.has_value());
  EXPECT_TRUE(*at_end);
  EXPECT_EQ(out, "id: e2\ndata: x\n\nid: e3\ndata: x\n\nid: e4\ndata: x\n\n");
  EXPECT_EQ(replay.cursor(), h.last_seq);

  h.fail = true;
  auto error =
      replay.apply(HistoryReplay::read(h, replay.cursor(), allowed.filter(), 100, 1 << 20, always), allowed, out);
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().code, Errc::unavailable);
}

// While replaying, an overflowing buffer is emptied and counted: the replay must read again.
TEST(HistoryReplay, AnEmptiedBufferIsCounted) {
  Subscriber sub(sel({"/a"}), std::nullopt, OutboxLimits{2, 1 << 20});
  sub.start_replay();
  EXPECT_EQ(sub.replay_drops(), 0U);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) sub.push(live(seq, "u" + std::to_string(seq)));
  EXPECT_EQ(sub.replay_drops(), 1U);
  EXPECT_FALSE(sub.has_pending());
  EXPECT_FALSE(sub.overflowed());
}

TEST(HistoryReplay, AScanErrorIsReported) {
  FakeHistory h;
  h.add("e1", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  HistoryReplay replay(h, "earliest");
  ASSERT_TRUE(replay.begin().has_value());
  h.fail = true;
  std::string out;
  auto r = replay.step(sub, out, 10, 1 << 20);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

// The handover: updates broadcast while the replay runs are buffered; those already replayed
// from the store are dropped by seq, the newer ones follow in order: no gap, no duplicate.
TEST(HistoryReplay, HandoverToLiveDropsWhatWasReplayedAndKeepsTheRest) {
  FakeHistory h;
  h.add("e1", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  sub.start_replay();
  HistoryReplay replay(h, "e1");
  ASSERT_TRUE(replay.begin().has_value());
  // e2 and e3 are committed, and broadcast to this subscriber after it registered.
  h.add("e2", {"/a"});
  h.add("e3", {"/a"});
  sub.push(live(2, "e2"));
  sub.push(live(3, "e3"));
  std::string out = drain(replay, sub);
  sub.go_live(replay.cursor());
  // e4 arrives after the switch.
  sub.push(live(4, "e4"));
  EXPECT_EQ(out, "id: e2\ndata: x\n\nid: e3\ndata: x\n\n");
  EXPECT_EQ(pending_ids(sub), (std::vector<std::string>{"e4"}));
  EXPECT_FALSE(sub.replaying());
}

TEST(HistoryReplay, BufferedUpdatesNewerThanTheSnapshotAreKept) {
  FakeHistory h;
  h.add("e1", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  sub.start_replay();
  HistoryReplay replay(h, "earliest");
  ASSERT_TRUE(replay.begin().has_value());
  std::string out = drain(replay, sub);
  // e2 was committed after the replay's last read but delivered before go_live ran.
  sub.push(live(2, "e2"));
  sub.go_live(replay.cursor());
  EXPECT_EQ(out, "id: e1\ndata: x\n\n");
  EXPECT_EQ(pending_ids(sub), (std::vector<std::string>{"e2"}));
}

// An update committed before the replay's last read but broadcast to the shard after the
// switch was already sent from the history: it must not be sent again.
TEST(HistoryReplay, ALateBroadcastOfAReplayedUpdateIsIgnored) {
  FakeHistory h;
  h.add("e1", {"/a"});
  h.add("e2", {"/a"});
  Subscriber sub(sel({"/a"}), std::nullopt, {});
  sub.start_replay();
  HistoryReplay replay(h, "e1");
  ASSERT_TRUE(replay.begin().has_value());
  std::string out = drain(replay, sub);
  sub.go_live(replay.cursor());
  sub.push(live(2, "e2"));  // the broadcast of e2 arrives late
  sub.push(live(3, "e3"));
  EXPECT_EQ(out, "id: e2\ndata: x\n\n");
  EXPECT_EQ(pending_ids(sub), (std::vector<std::string>{"e3"}));
}

TEST(HistoryReplay, AnOverflowWhileReplayingDropsTheBufferNotTheSubscriber) {
  FakeHistory h;
  Subscriber sub(sel({"/a"}), std::nullopt, OutboxLimits{2, 1 << 20});
  sub.start_replay();
  store_and_push(h, sub, 1, 5);
  EXPECT_FALSE(sub.overflowed());
  HistoryReplay replay(h, "earliest");
  ASSERT_TRUE(replay.begin().has_value());
  std::string out = drain(replay, sub);
  sub.go_live(replay.cursor());
  EXPECT_EQ(out.size(), 5 * std::string("id: e1\ndata: x\n\n").size());
  EXPECT_TRUE(pending_ids(sub).empty());
  // Live again: an overflow now cuts the subscriber off, as for any slow client.
  for (std::uint64_t seq = 6; seq <= 9; ++seq) sub.push(live(seq, "e" + std::to_string(seq)));
  EXPECT_TRUE(sub.overflowed());
}

}  // namespace
}  // namespace mercure
