// A resume racing a history shorter than what is published during it: on the real store, with
// exact topics (the topic index) and templates (the scan), every update published after the
// subscriber registered reaches it once and in order, whether the replay read it from the store
// or the store trimmed it first, and even when the store trimmed it before its broadcast reached
// the subscriber (the replay waits for the broadcast, as for a shard's dispatch).

#include "core/history_replay.hpp"
#include "core/subscriber.hpp"
#include "core/topic_selector.hpp"
#include "transport/lmdb_store.hpp"

#include "lmdb_store_fixture.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace mercure {
namespace {

using test::make_update;

class LmdbReplayRaceTest : public test::LmdbStoreFixture {
 protected:
  // `late`: a broadcast reaches the subscriber some steps after its commit (a shard dispatches
  // a turn later), so the store may trim an update before the subscriber has it.
  void race(bool late);
};

TEST_F(LmdbReplayRaceTest, UpdatesPublishedDuringAReplayAllArriveWhateverTheStoreTrims) {
  race(false);
}

TEST_F(LmdbReplayRaceTest, UpdatesTrimmedBeforeTheirBroadcastArrivedAreWaitedFor) {
  race(true);
}

void LmdbReplayRaceTest::race(bool late) {
  std::mt19937 rng(late ? 20261202 : 20261201);
  options_.size = 40;  // fewer than what is published during one replay
  open();
  const auto topic = [&] { return "https://example.com/t/" + std::to_string(rng() % 6); };
  int next_id = 0;
  // Writes a random batch; returns it as the hub broadcasts it (seq and frame final).
  const auto publish = [&](int n) {
    std::vector<Update> us;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> topics = {topic()};
      if (rng() % 4 == 0) topics.push_back(topic());
      us.push_back(make_update("id-" + std::to_string(next_id++), topics, rng() % 4 == 0));
    }
    write(us);
    std::vector<UpdatePtr> shared;
    for (auto& u : us) shared.push_back(std::make_shared<const Update>(std::move(u)));
    return shared;
  };
  publish(100);

  // Broadcast, not yet handed to the subscriber; the seq handed over last (the dispatch).
  std::deque<UpdatePtr> in_flight;
  std::uint64_t dispatched = store_->last_seq();
  std::string expected;
  Subscriber* current = nullptr;
  const auto deliver = [&](std::size_t n) {
    for (; n > 0 && !in_flight.empty(); --n) {
      const UpdatePtr u = in_flight.front();
      in_flight.pop_front();
      dispatched = u->seq;
      if (current == nullptr || !current->matches(*u)) continue;
      expected.append(u->frame);
      current->push(u);
    }
  };

  int trimmed_rounds = 0;
  int held_rounds = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<SelectorPtr> selectors;
    if (rng() % 3 == 0) {
      selectors.push_back(TopicSelector::compile("https://example.com/t/{n}"));  // scanned
    } else {
      for (int i = 0, n = 1 + static_cast<int>(rng() % 3); i < n; ++i)
        selectors.push_back(TopicSelector::compile(topic()));  // through the index
    }
    std::optional<std::vector<SelectorPtr>> allowed;
    if (rng() % 2 == 0) allowed = std::vector<SelectorPtr>{TopicSelector::compile(topic())};
    Subscriber sub(selectors, allowed, OutboxLimits{});
    deliver(in_flight.size());  // the previous round's: not owed to this subscriber
    current = &sub;
    expected.clear();

    // Registered (buffering), then resumed from the newest event: everything published from
    // now on is owed to it.
    sub.start_replay();
    auto newest = store_->last_id();
    ASSERT_TRUE(newest.has_value() && newest->has_value());
    HistoryReplay replay(*store_, **newest);
    if (late) replay.set_gate([&](std::uint64_t below) { return below <= dispatched + 1; });
    auto start = replay.begin();
    ASSERT_TRUE(start.has_value());
    ASSERT_FALSE(start->replay_nothing);

    std::string got;
    bool overtaken = false;
    bool held = false;
    for (int steps = 0;; ++steps) {
      ASSERT_LT(steps, 10000);
      auto at_end = replay.step(sub, got, 1 + rng() % 8, 1 << 20);
      ASSERT_TRUE(at_end.has_value()) << at_end.error().reason;
      if (*at_end && steps >= 20) break;
      held = held || replay.held();
      if (steps < 20) {
        for (auto& u : publish(static_cast<int>(rng() % 30))) in_flight.push_back(std::move(u));
        // Events after the replay's cursor were trimmed before it read them.
        overtaken = overtaken || store_->last_seq() - store_->count() > replay.cursor();
      }
      // On time: each broadcast arrives before the next step. Late: some of them, and the
      // rest once the steps are over (a held step is woken by a dispatch).
      deliver(late && steps < 20 ? rng() % 40 : in_flight.size());
    }
    deliver(in_flight.size());
    current = nullptr;
    sub.go_live(replay.cursor());
    std::vector<UpdatePtr> live;
    sub.take_pending(live);
    for (const auto& u : live) got.append(u->frame);
    EXPECT_EQ(got, expected) << "round " << round;
    if (overtaken) ++trimmed_rounds;
    if (held) ++held_rounds;
  }
  // The race this is about happened, often.
  EXPECT_GT(trimmed_rounds, 50);
  if (late) {
    EXPECT_GT(held_rounds, 20);
  }
}

}  // namespace
}  // namespace mercure
