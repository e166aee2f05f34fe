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
#include <array>
#include <cstring>
#include <filesystem>
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
  // max_events counts the lookups too (one per topic and block of 1,024 seqs) ...
  EXPECT_EQ(indexed(0, {"t2", "t1"}, 4, &result), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_FALSE(result.at_end);
  EXPECT_EQ(result.last_seq, 2U);
  // ... but a call always visits at least one event.
  EXPECT_EQ(indexed(0, {"t2", "t1"}, 1, &result), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(result.last_seq, 1U);
}

TEST_F(LmdbTopicIndexTest, FindsEventsAcrossBlocksOf1024Seqs) {
  open();
  std::vector<Update> us;
  for (int i = 1; i <= 3000; ++i) {
    const bool mine = i == 1023 || i == 1024 || i == 1025 || i == 2048 || i == 3000;
    us.push_back(make_update("id-" + std::to_string(i), {mine ? "mine" : "other"}));
  }
  write(us);
  EXPECT_EQ(indexed(0, {"mine"}), (std::vector<std::uint64_t>{1023, 1024, 1025, 2048, 3000}));
  EXPECT_EQ(indexed(1023, {"mine"}), (std::vector<std::uint64_t>{1024, 1025, 2048, 3000}));
  EXPECT_EQ(indexed(1024, {"mine"}), (std::vector<std::uint64_t>{1025, 2048, 3000}));
  EXPECT_EQ(indexed(2048, {"mine"}), (std::vector<std::uint64_t>{3000}));
  History::ScanResult result;
  EXPECT_EQ(indexed(3000, {"mine"}, 1'000'000, &result), (std::vector<std::uint64_t>{}));
  EXPECT_TRUE(result.at_end);
  // A call spent on lookups of blocks without the topic still moves the cursor past them.
  EXPECT_EQ(indexed(1025, {"mine"}, 1, &result), (std::vector<std::uint64_t>{}));
  EXPECT_FALSE(result.at_end);
  EXPECT_EQ(result.last_seq, 2047U) << "block 1 (seqs 1024-2047) considered";
  EXPECT_EQ(indexed(2047, {"mine"}, 2, &result), (std::vector<std::uint64_t>{2048}));
  EXPECT_EQ(result.last_seq, 2048U);
}

TEST_F(LmdbTopicIndexTest, AResumeFromTheStartSkipsTheBlocksTrimmedLongAgo) {
  open();
  close();
  {  // a store that has stored (and trimmed) a billion events
    RawEnv raw(options_.path);
    raw.with_table("meta", [](MDB_txn* txn, MDB_dbi dbi) {
      std::array<unsigned char, 8> last{};
      std::uint64_t v = 1'000'000'000;
      for (int i = 7; i >= 0; --i, v >>= 8) last[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v & 0xFF);
      MDB_val k{8, const_cast<char*>("last_seq")}, value{8, last.data()};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &value, 0), 0);
    });
  }
  open();
  write_ids({"a", "b", "c"});
  History::ScanResult result;
  // Not a million calls spent on lookups of empty blocks: the first one finds the events.
  EXPECT_EQ(indexed(0, {"https://example.com/t"}, 8, &result),
            (std::vector<std::uint64_t>{1'000'000'001, 1'000'000'002, 1'000'000'003}));
  EXPECT_TRUE(result.at_end);
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

TEST_F(LmdbTopicIndexTest, AnIndexOfAnotherLayoutIsDroppedAndStartedAgain) {
  open();
  write_ids({"a", "b"});
  close();
  {  // a `topics` table of another layout: keys and values of other shapes, no format in meta
    RawEnv raw(options_.path);
    raw.with_table("topics", [](MDB_txn* txn, MDB_dbi dbi) {
      ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
      MDB_dbi plain = 0;
      ASSERT_EQ(mdb_dbi_open(txn, "topics", MDB_CREATE, &plain), 0);
      std::string k(16, 'k');
      MDB_val key{k.size(), k.data()}, value{0, nullptr};
      ASSERT_EQ(mdb_put(txn, plain, &key, &value, 0), 0);
    });
    raw.with_table("meta", [](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val k{13, const_cast<char*>("topics_format")};
      ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
    });
  }
  open();
  EXPECT_EQ(indexed(0, {"https://example.com/t"}), std::nullopt) << "events 1-2 are not in the new index";
  write_ids({"c"});
  EXPECT_EQ(indexed(2, {"https://example.com/t"}), (std::vector<std::uint64_t>{3}));
  close();
  RawEnv raw(options_.path);
  EXPECT_EQ(raw.entries("topics"), 1U) << "the old entry went with its table";
}

TEST_F(LmdbTopicIndexTest, OpensAStoreWhoseMapHasNoRoomForTheIndex) {
  options_.size = 0;
  open();
  std::vector<Update> us;
  for (int i = 0; i < 20000; ++i) us.push_back(make_update("id-" + std::to_string(i)));
  write(us);
  const std::size_t file_size = store_->map_size();
  close();
  {  // as an earlier build left it
    RawEnv raw(options_.path);
    raw.with_table("topics", [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 1), 0); });
    raw.with_table("meta", [](MDB_txn* txn, MDB_dbi dbi) {
      for (const char* name : {"topics_from", "topics_format"}) {
        MDB_val k{std::strlen(name), const_cast<char*>(name)};
        ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
      }
    });
  }
  {  // compacted: no free page left, so the open's first write has no room in the map
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    ASSERT_EQ(mdb_env_open(env, options_.path.c_str(), 0, 0644), 0);
    const std::string compact = dir_->sub("compact");
    std::filesystem::create_directories(compact);
    ASSERT_EQ(mdb_env_copy2(env, compact.c_str(), MDB_CP_COMPACT), 0);
    mdb_env_close(env);
    std::filesystem::rename(compact + "/data.mdb", options_.path + "/data.mdb");
  }
  options_.map_size = 1 << 16;  // smaller than the file: LMDB maps the file's used pages only
  open();
  EXPECT_GE(store_->map_size(), file_size / 2);
  write_ids({"after"});
  EXPECT_EQ(indexed(20000, {"https://example.com/t"}), (std::vector<std::uint64_t>{20001}));
}

// A resume through the index sends exactly what a full scan sends, after random writes (topics
// from a small pool, some private, some alternate) and trimming, for random subscriptions and
// resume points, a few events per step.
TEST_F(LmdbTopicIndexTest, ReplaysWhatAFullScanReplays) {
  std::mt19937 rng(20261201);
  options_.size = 3000;  // several blocks of 1,024 seqs
  open();
  const auto topic = [&] { return "https://example.com/t/" + std::to_string(rng() % 40); };
  int next_id = 0;
  for (int batch = 0; batch < 250; ++batch) {
    std::vector<Update> us;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 40); i < n; ++i) {
      std::vector<std::string> topics = {topic()};
      while (rng() % 3 == 0) topics.push_back(topic());
      us.push_back(make_update("id-" + std::to_string(next_id++), topics, rng() % 4 == 0));
    }
    write(us);
  }
  ASSERT_EQ(store_->count(), 3000U);
  const std::uint64_t first = store_->last_seq() - 3000;

  for (int round = 0; round < 200; ++round) {
    std::vector<SelectorPtr> selectors;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i)
      selectors.push_back(TopicSelector::compile(topic()));
    std::optional<std::vector<SelectorPtr>> allowed;
    if (rng() % 2 == 0) allowed = std::vector<SelectorPtr>{TopicSelector::compile(topic())};
    Subscriber sub(selectors, allowed, OutboxLimits{});
    const auto r = rng() % 3200;  // a stored event's id, or "earliest"
    const std::uint64_t after = r < 3000 ? first + 1 + r % 2999 : 0;

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
      ASSERT_LT(steps, 10000);
      auto at_end = replay.step(sub, got, 1 + rng() % 64, 1 << 20);
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
