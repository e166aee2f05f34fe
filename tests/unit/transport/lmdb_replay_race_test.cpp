// A resume racing a history shorter than what is published during it: on the real store, with
// exact topics (the topic index) and templates (the scan), every update published after the
// subscriber registered reaches it once and in order, whether the replay read it from the store
// or the store trimmed it first.

#include "core/history_replay.hpp"
#include "core/subscriber.hpp"
#include "core/topic_selector.hpp"
#include "transport/lmdb_store.hpp"

#include "lmdb_store_fixture.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace mercure {
namespace {

using test::make_update;

class LmdbReplayRaceTest : public test::LmdbStoreFixture {};

TEST_F(LmdbReplayRaceTest, UpdatesPublishedDuringAReplayAllArriveWhateverTheStoreTrims) {
  std::mt19937 rng(20261201);
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

  int trimmed_rounds = 0;
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

    // Registered (buffering), then resumed from the newest event: everything published from
    // now on is owed to it.
    sub.start_replay();
    auto newest = store_->last_id();
    ASSERT_TRUE(newest.has_value() && newest->has_value());
    HistoryReplay replay(*store_, **newest);
    auto start = replay.begin();
    ASSERT_TRUE(start.has_value());
    ASSERT_FALSE(start->replay_nothing);

    std::string expected;
    std::string got;
    bool overtaken = false;
    for (int steps = 0;; ++steps) {
      ASSERT_LT(steps, 10000);
      auto at_end = replay.step(sub, got, 1 + rng() % 8, 1 << 20);
      ASSERT_TRUE(at_end.has_value()) << at_end.error().reason;
      if (*at_end && steps >= 20) break;
      if (steps < 20) {
        for (const auto& u : publish(static_cast<int>(rng() % 30))) {
          if (!sub.matches(*u)) continue;
          expected.append(u->frame);
          sub.push(u);
        }
        // Events after the replay's cursor were trimmed before it read them.
        overtaken = overtaken || store_->last_seq() - store_->count() > replay.cursor();
      }
    }
    sub.go_live(replay.cursor());
    std::vector<UpdatePtr> live;
    sub.take_pending(live);
    for (const auto& u : live) got.append(u->frame);
    EXPECT_EQ(got, expected) << "round " << round;
    if (overtaken) ++trimmed_rounds;
  }
  // The race this is about happened, often.
  EXPECT_GT(trimmed_rounds, 50);
}

}  // namespace
}  // namespace mercure
