// LmdbStore's `topics` index (scan_topics): a resume of exact topics visits the events carrying
// them and nothing is missed, against a full scan after random writes and trimming; stores
// written before the index existed are indexed from their next event on.

#include "core/history_replay.hpp"
#include "core/subscriber.hpp"
#include "core/topic_selector.hpp"
#include "transport/lmdb_store.hpp"

#include "lmdb_store_fixture.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace mercure {
namespace {

using test::make_update;
using test::RawEnv;

class LmdbTopicIndexTest : public test::LmdbStoreFixture {
 protected:
  // The seqs scan_topics visits; nullopt when it declines.
  std::optional<std::vector<std::uint64_t>> indexed(std::uint64_t after, std::vector<std::string_view> topics,
                                                    std::size_t max = 1'000'000,
                                                    History::ScanResult* result = nullptr) {
    std::vector<std::uint64_t> seqs;
    auto r = store_->scan_topics(after, topics, max, [&](const HistoryEvent& e) {
      seqs.push_back(e.seq);
      return true;
    });
    if (!r) return std::nullopt;
    EXPECT_TRUE(r->has_value()) << r->error().reason;
    if (*r && result) *result = **r;
    return seqs;
  }
};

TEST_F(LmdbTopicIndexTest, VisitsOnlyTheEventsCarryingTheTopicsInSeqOrder) {
  open();
  std::vector<Update> us = {make_update("a", {"t1"}), make_update("b", {"t2"}), make_update("c", {"t3", "t1"}),
                            make_update("d", {"t2", "t2"}), make_update("e", {"t4"})};
  write(us);
  EXPECT_EQ(indexed(0, {"t1"}), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(indexed(0, {"t2", "t1"}), (std::vector<std::uint64_t>{1, 2, 3, 4})) << "merged, each event once";
  EXPECT_EQ(indexed(1, {"t1", "t1"}), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(indexed(0, {"nothing"}), (std::vector<std::uint64_t>{}));

  History::ScanResult result;
  EXPECT_EQ(indexed(0, {"t1"}, 1'000'000, &result), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_TRUE(result.at_end);
  EXPECT_EQ(result.last_seq, 5U) << "at the end, every stored event was considered";
  EXPECT_EQ(indexed(0, {"t2", "t1"}, 2, &result), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_FALSE(result.at_end);
  EXPECT_EQ(result.last_seq, 2U);
}

TEST_F(LmdbTopicIndexTest, TrimmedEventsLeaveNoEntry) {
  options_.size = 3;
  open();
  for (int i = 0; i < 10; ++i) {
    std::vector<Update> one = {make_update("id-" + std::to_string(i), {"t" + std::to_string(i % 2), "all"})};
    write(one);
  }
  EXPECT_EQ(indexed(0, {"all"}), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_EQ(indexed(0, {"t0"}), (std::vector<std::uint64_t>{9}));
  close();
  RawEnv raw(options_.path);
  EXPECT_EQ(raw.entries("topics"), 6U) << "two entries for each of the 3 events kept";
}

TEST_F(LmdbTopicIndexTest, AStoreWrittenBeforeTheIndexIsIndexedFromItsNextEvent) {
  open();
  write_ids({"a", "b", "c"});
  close();
  {  // as a build without the index left it: no `topics` table, no topics_from
    RawEnv raw(options_.path);
    raw.with_table("topics", [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 1), 0); });
    raw.with_table("meta", [](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val k{11, const_cast<char*>("topics_from")};
      ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
    });
  }
  open();
  EXPECT_EQ(indexed(0, {"https://example.com/t"}), std::nullopt) << "events 1-3 are not indexed: scan";
  EXPECT_EQ(indexed(2, {"https://example.com/t"}), std::nullopt);
  write_ids({"d", "e"});
  EXPECT_EQ(indexed(3, {"https://example.com/t"}), (std::vector<std::uint64_t>{4, 5}));
  close();
  open();  // topics_from is kept
  EXPECT_EQ(indexed(0, {"https://example.com/t"}), std::nullopt);
  EXPECT_EQ(indexed(3, {"https://example.com/t"}), (std::vector<std::uint64_t>{4, 5}));
}

// A resume through the index sends exactly what a full scan sends, after random writes (topics
// from a small pool, some private, some alternate) and trimming, for random subscriptions and
// resume points, a few events per step.
TEST_F(LmdbTopicIndexTest, ReplaysWhatAFullScanReplays) {
  std::mt19937 rng(20261201);
  options_.size = 300;
  open();
  const auto topic = [&] { return "https://example.com/t/" + std::to_string(rng() % 40); };
  int next_id = 0;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<Update> us;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 20); i < n; ++i) {
      std::vector<std::string> topics = {topic()};
      while (rng() % 3 == 0) topics.push_back(topic());
      us.push_back(make_update("id-" + std::to_string(next_id++), topics, rng() % 4 == 0));
    }
    write(us);
  }
  ASSERT_EQ(store_->count(), 300U);
  const std::uint64_t first = store_->last_seq() - 300;

  for (int round = 0; round < 200; ++round) {
    std::vector<SelectorPtr> selectors;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i)
      selectors.push_back(TopicSelector::compile(topic()));
    std::optional<std::vector<SelectorPtr>> allowed;
    if (rng() % 2 == 0) allowed = std::vector<SelectorPtr>{TopicSelector::compile(topic())};
    Subscriber sub(selectors, allowed, OutboxLimits{});
    const auto r = rng() % 320;  // a stored event's id, or "earliest"
    const std::uint64_t after = r < 300 ? first + 1 + r % 299 : 0;

    std::string expected;
    auto full = store_->scan(after, 1'000'000, [&](const HistoryEvent& e) {
      if (sub.matches(e.topics, e.is_private)) expected.append(e.frame);
      return true;
    });
    ASSERT_TRUE(full.has_value());

    // HistoryReplay picks the index for exact selectors; step by step, as a connection does.
    const std::string resume = after != 0 ? "id-" + std::to_string(after - 1) : "earliest";
    HistoryReplay replay(*store_, resume);
    auto start = replay.begin();
    ASSERT_TRUE(start.has_value());
    std::string got;
    for (int steps = 0;; ++steps) {
      ASSERT_LT(steps, 1000);
      auto at_end = replay.step(sub, got, 1 + rng() % 8, 1 << 20);
      ASSERT_TRUE(at_end.has_value()) << at_end.error().reason;
      if (*at_end) break;
    }
    ASSERT_FALSE(start->replay_nothing) << resume;
    EXPECT_EQ(got, expected) << "round " << round << ", after " << after;
    EXPECT_EQ(replay.cursor(), store_->last_seq()) << "the replay considered every stored event";
  }
}

}  // namespace
}  // namespace mercure
