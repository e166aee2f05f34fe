#include "core/history_replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

// An in-memory history: events in seq order, like a store's snapshot.
class FakeHistory final : public History {
 public:
  struct Stored {
    std::uint64_t seq;
    std::string id;
    std::vector<std::string> topics;
    bool is_private;
    std::string frame;
  };

  std::uint64_t add(std::string id, std::vector<std::string> topics, bool is_private = false) {
    std::string frame = "id: " + id + "\ndata: x\n\n";
    events.push_back(Stored{++last_seq, std::move(id), std::move(topics), is_private, std::move(frame)});
    return last_seq;
  }

  Result<std::optional<std::uint64_t>> find(std::string_view id) override {
    for (const auto& e : events) {
      if (e.id == id) return std::optional<std::uint64_t>(e.seq);
    }
    return std::optional<std::uint64_t>();
  }

  Result<std::optional<std::string>> last_id() override {
    if (events.empty()) return std::optional<std::string>();
    return std::optional<std::string>(events.back().id);
  }

  Result<ScanResult> scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) override {
    ++scans;
    if (fail) return Error{Errc::unavailable, "disk on fire"};
    ScanResult r{after, true};
    std::size_t visited = 0;
    // By seq, not by position: `between_events` may trim the store during the scan (a store
    // read in several round trips, each its own snapshot).
    for (std::uint64_t cursor = after;;) {
      const auto it = std::find_if(events.begin(), events.end(), [&](const Stored& e) { return e.seq > cursor; });
      if (it == events.end()) return r;
      if (visited == max_events) {
        r.at_end = false;
        return r;
      }
      std::vector<std::string_view> topics(it->topics.begin(), it->topics.end());
      if (visited == 0 && it->seq > after + 1) r.trimmed_below = it->seq;  // as a store does
      ++visited;
      r.last_seq = cursor = it->seq;
      const bool go_on = visit(HistoryEvent{it->seq, it->id, topics, it->is_private, it->frame});
      if (!go_on) {
        r.at_end = cursor == last_seq;
        return r;
      }
      if (between_events) between_events();
    }
  }

  // Drops the oldest events until `keep` are left, as a store with `size` does.
  void trim_to(std::size_t keep) {
    if (events.size() > keep) events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(keep));
  }

  std::vector<Stored> events;
  std::uint64_t last_seq = 0;
  int scans = 0;
  bool fail = false;
  std::function<void()> between_events;
};

std::vector<SelectorPtr> sel(std::initializer_list<const char*> texts) {
  std::vector<SelectorPtr> out;
  for (const char* t : texts) out.push_back(TopicSelector::compile(t));
  return out;
}

UpdatePtr live(std::uint64_t seq, std::string id) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {"/a"};
  u->seq = seq;
  u->frame = "id: " + u->id + "\ndata: x\n\n";
  return u;
}

// Runs the replay to its end; returns the concatenated frames.
std::string drain(HistoryReplay& replay, Subscriber& sub, std::size_t max_events = 2, std::size_t max_bytes = 1 << 20) {
  std::string out;
  for (int guard = 0; guard < 1000; ++guard) {
    auto at_end = replay.step(sub, out, max_events, max_bytes);
    EXPECT_TRUE(at_end.has_value());
    if (!at_end || *at_end) return out;
  }
  ADD_FAILURE() << "replay never reached the end";
  return out;
}

std::vector<std::string> pending_ids(Subscriber& s) {
  std::vector<UpdatePtr> out;
  s.take_pending(out);
  std::vector<std::string> ids;
  for (const auto& u : out) ids.push_back(u->id);
  return ids;
}

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
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    const std::string id = "e" + std::to_string(seq);
    h.add(id, {"/a"});
    sub.push(live(seq, id));
  }
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

std::string frames_of(std::initializer_list<const char*> ids) {
  std::string out;
  for (const char* id : ids) out += std::string("id: ") + id + "\ndata: x\n\n";
  return out;
}

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
  for (std::uint64_t seq = 3; seq <= 7; ++seq) {
    const std::string id = "e" + std::to_string(seq);
    h.add(id, {"/a"});
    sub.push(live(seq, id));
  }
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
    Result<bool> at_end = false;
    if (blocking) {
      const auto batch = HistoryReplay::read(h, replay.cursor(), sub.filter(), 100, 1 << 20, [] { return true; });
      at_end = replay.apply(batch, sub, out);
    } else {
      at_end = replay.step(sub, out, 100, 1 << 20);
    }
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
  for (std::uint64_t seq = 1; seq <= 4; ++seq) {
    const std::string id = "e" + std::to_string(seq);
    h.add(id, {"/a"});
    sub.push(live(seq, id));
  }
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

    Result<bool> at_end = false;
    if (blocking) {
      at_end = replay.apply(HistoryReplay::read(h, replay.cursor(), sub.filter(), 100, 1 << 20, [] { return true; }),
                            sub, out);
    } else {
      at_end = replay.step(sub, out, 100, 1 << 20);
    }
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

}  // namespace
}  // namespace mercure
