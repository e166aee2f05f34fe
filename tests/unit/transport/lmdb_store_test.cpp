#include "transport/lmdb_store.hpp"

#include "lmdb_store_fixture.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace mercure {
namespace {

using test::make_update;
using test::RawEnv;

class LmdbStoreTest : public test::LmdbStoreFixture {};

TEST_F(LmdbStoreTest, CreatesTheDirectoryWithParents) {
  options_.path = dir_->sub("a/b/c");
  open();
  EXPECT_TRUE(std::filesystem::is_regular_file(options_.path + "/data.mdb"));
  EXPECT_TRUE(std::filesystem::is_regular_file(options_.path + "/lock.mdb"));
  EXPECT_TRUE(std::filesystem::is_regular_file(options_.path + "/hub.lock"));
  EXPECT_EQ(store_->count(), 0U);
  EXPECT_EQ(store_->last_seq(), 0U);
}

TEST_F(LmdbStoreTest, RoundTrip) {
  open();
  std::vector<Update> us = {make_update("a", {"t1", "t2"}, true), make_update("b"), make_update("c", {"t3"})};
  auto out = write(us);
  EXPECT_EQ(out.accepted, 3U);
  EXPECT_EQ(us[0].seq, 1U);
  EXPECT_EQ(us[1].seq, 2U);
  EXPECT_EQ(us[2].seq, 3U);
  History::ScanResult r;
  auto seen = scan_all(0, 100, &r);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].seq, 1U);
  EXPECT_EQ(seen[0].id, "a");
  EXPECT_EQ(seen[0].topics, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_TRUE(seen[0].is_private);
  EXPECT_EQ(seen[0].frame, us[0].frame);
  EXPECT_FALSE(seen[1].is_private);
  EXPECT_EQ(seen[2].topics, (std::vector<std::string>{"t3"}));
  EXPECT_EQ(r.last_seq, 3U);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(store_->count(), 3U);
  EXPECT_EQ(store_->last_seq(), 3U);
  auto last = store_->last_id();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, std::optional<std::string>("c"));
}

TEST_F(LmdbStoreTest, FindThroughTheIdsTable) {
  open();
  EXPECT_EQ(find("a"), std::nullopt) << "empty store";
  write_ids({"a", "b", "c"});
  EXPECT_EQ(find("a"), 1U);
  EXPECT_EQ(find("c"), 3U);
  EXPECT_EQ(find("d"), std::nullopt);
  EXPECT_EQ(find(""), std::nullopt);
  EXPECT_EQ(find("#abc"), std::nullopt);
}

TEST_F(LmdbStoreTest, ScanAfterAndMaxEvents) {
  open();
  write_ids({"e1", "e2", "e3", "e4", "e5"});
  History::ScanResult r;
  auto seen = scan_all(2, 2, &r);
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].seq, 3U);
  EXPECT_EQ(seen[1].seq, 4U);
  EXPECT_EQ(r.last_seq, 4U);
  EXPECT_FALSE(r.at_end);

  seen = scan_all(4, 10, &r);
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(r.last_seq, 5U);
  EXPECT_TRUE(r.at_end);

  seen = scan_all(3, 2, &r);
  EXPECT_EQ(seen.size(), 2U);
  EXPECT_TRUE(r.at_end) << "the last event visited is the newest";

  seen = scan_all(5, 10, &r);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(r.last_seq, 5U) << "`after` when nothing was visited";
  EXPECT_TRUE(r.at_end);

  seen = scan_all(0, 0, &r);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(r.last_seq, 0U);
  EXPECT_FALSE(r.at_end) << "max_events = 0 visits nothing, but events follow";

  seen = scan_all(100, 10, &r);
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(r.last_seq, 100U);
  EXPECT_TRUE(r.at_end);

  seen = scan_all(std::numeric_limits<std::uint64_t>::max(), 10, &r);
  EXPECT_TRUE(seen.empty());
  EXPECT_TRUE(r.at_end);
}

TEST_F(LmdbStoreTest, ScanOfAnEmptyStoreIsAtEnd) {
  open();
  History::ScanResult r;
  EXPECT_TRUE(scan_all(0, 0, &r).empty());
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.last_seq, 0U);
}

TEST_F(LmdbStoreTest, VisitorStopsTheScan) {
  open();
  write_ids({"a", "b", "c"});
  std::vector<std::uint64_t> seqs;
  auto r = store_->scan(0, 100, [&](const HistoryEvent& e) {
    seqs.push_back(e.seq);
    return e.seq < 2;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(r->last_seq, 2U) << "the event that stopped the scan counts as visited";
  EXPECT_FALSE(r->at_end);

  r = store_->scan(2, 100, [](const HistoryEvent&) { return false; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->last_seq, 3U);
  EXPECT_TRUE(r->at_end) << "stopped on the newest event";
}

TEST_F(LmdbStoreTest, SeqIsMonotonicAcrossReopen) {
  open();
  write_ids({"a", "b", "c"});
  close();
  open();
  EXPECT_EQ(store_->last_seq(), 3U);
  EXPECT_EQ(store_->count(), 3U);
  EXPECT_EQ(find("b"), 2U);
  std::vector<Update> us = {make_update("d"), make_update("e")};
  write(us);
  EXPECT_EQ(us[0].seq, 4U);
  EXPECT_EQ(us[1].seq, 5U);
}

TEST_F(LmdbStoreTest, SeqIsNeverReusedAfterTrimming) {
  options_.size = 1;
  open();
  for (const char* id : {"a", "b", "c"}) write_ids({id});
  EXPECT_EQ(store_->count(), 1U);
  EXPECT_EQ(find("a"), std::nullopt);
  EXPECT_EQ(find("c"), 3U);
  close();
  open();
  std::vector<Update> us = {make_update("d")};
  write(us);
  EXPECT_EQ(us[0].seq, 4U);
}

TEST_F(LmdbStoreTest, SeqIsNeverReusedWhenEveryEventIsGone) {
  open();
  write_ids({"a", "b", "c"});
  close();
  {
    RawEnv raw(options_.path);
    raw.with_table("events", [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 0), 0); });
    raw.with_table("ids", [](MDB_txn* txn, MDB_dbi dbi) { ASSERT_EQ(mdb_drop(txn, dbi, 0), 0); });
  }
  open();
  EXPECT_EQ(store_->count(), 0U);
  EXPECT_EQ(store_->last_seq(), 3U) << "kept in meta";
  std::vector<Update> us = {make_update("a")};
  write(us);
  EXPECT_EQ(us[0].seq, 4U);
}

TEST_F(LmdbStoreTest, DuplicateIdIsAConflictAndTheBatchGoesOn) {
  open();
  write_ids({"a"});
  std::vector<Update> us = {make_update("b"), make_update("a"), make_update("c")};
  auto out = write(us);
  EXPECT_EQ(out.accepted, 2U);
  ASSERT_EQ(out.results.size(), 3U);
  EXPECT_TRUE(out.results[0].has_value());
  ASSERT_FALSE(out.results[1].has_value());
  EXPECT_EQ(out.results[1].error().code, Errc::conflict);
  EXPECT_EQ(http_status(out.results[1].error().code), 409);
  EXPECT_EQ(out.results[1].error().reason, "an event with id \"a\" is already stored");
  EXPECT_TRUE(out.results[2].has_value());
  EXPECT_EQ(us[0].seq, 2U);
  EXPECT_EQ(us[1].seq, 0U) << "rejected: no seq";
  EXPECT_EQ(us[2].seq, 3U) << "no gap";
  EXPECT_EQ(find("a"), 1U) << "the stored event is untouched";
  EXPECT_EQ(scan_all().size(), 3U);
}

TEST_F(LmdbStoreTest, DuplicateIdWithinOneBatch) {
  open();
  std::vector<Update> us = {make_update("x"), make_update("x"), make_update("y")};
  auto out = write(us);
  EXPECT_EQ(out.accepted, 2U);
  EXPECT_TRUE(out.results[0].has_value());
  ASSERT_FALSE(out.results[1].has_value());
  EXPECT_EQ(out.results[1].error().code, Errc::conflict);
  EXPECT_EQ(us[2].seq, 2U);
}

TEST_F(LmdbStoreTest, EmptyIdIsRejected) {
  open();
  std::vector<Update> us = {make_update("")};
  auto out = write(us);
  EXPECT_EQ(out.accepted, 0U);
  ASSERT_FALSE(out.results[0].has_value());
  EXPECT_EQ(out.results[0].error().code, Errc::bad_request);
}

TEST_F(LmdbStoreTest, IdsLongerThan480BytesAreHashed) {
  open();
  const std::string prefix(480, 'p');
  const std::string& id480 = prefix;
  const std::string id481a = prefix + "a";
  const std::string id481b = prefix + "b";
  const std::string huge(10'000, 'h');
  std::vector<Update> us = {make_update(id480), make_update(id481a), make_update(id481b), make_update(huge)};
  auto out = write(us);
  EXPECT_EQ(out.accepted, 4U);
  EXPECT_EQ(find(id480), 1U);
  EXPECT_EQ(find(id481a), 2U);
  EXPECT_EQ(find(id481b), 3U) << "ids sharing 480 bytes stay distinct";
  EXPECT_EQ(find(huge), 4U);
  EXPECT_EQ(find(prefix + "c"), std::nullopt);
  auto seen = scan_all();
  ASSERT_EQ(seen.size(), 4U);
  EXPECT_EQ(seen[3].id, huge);

  std::vector<Update> again = {make_update(huge)};
  out = write(again);
  ASSERT_FALSE(out.results[0].has_value());
  EXPECT_EQ(out.results[0].error().code, Errc::conflict);
}

TEST_F(LmdbStoreTest, TrimmingIsBoundedPerCommitAndConvergesToSize) {
  options_.size = 0;  // unbounded while filling
  open();
  std::vector<Update> us;
  us.reserve(3000);
  for (int i = 0; i < 3000; ++i) us.push_back(make_update("id-" + std::to_string(i)));
  write(us);
  EXPECT_EQ(store_->count(), 3000U);
  close();

  options_.size = 10;
  open();
  EXPECT_EQ(store_->count(), 3000U) << "nothing is trimmed at start-up";
  std::vector<std::size_t> trimmed;
  for (int i = 0; i < 4; ++i) {
    std::vector<Update> one = {make_update("new-" + std::to_string(i))};
    trimmed.push_back(write(one).trimmed);
  }
  // count 3001 -> trims 1 + 1024; 1977 -> 1025; 953 -> 943 (down to 10); then 1 per publish.
  EXPECT_EQ(trimmed, (std::vector<std::size_t>{1025, 1025, 943, 1}));
  EXPECT_EQ(store_->count(), 10U);
  EXPECT_EQ(find("id-2993"), std::nullopt) << "seq 2994: trimmed";
  EXPECT_EQ(find("id-2994"), 2995U) << "the oldest event kept";
  EXPECT_EQ(find("new-3"), 3004U);
  auto seen = scan_all();
  ASSERT_EQ(seen.size(), 10U);
  EXPECT_EQ(seen.front().seq, 2995U);
  close();
  RawEnv raw(options_.path);
  EXPECT_EQ(raw.entries("ids"), 10U) << "trimmed events leave no ids entry";
}

TEST_F(LmdbStoreTest, TrimmingRemovesHashedIdsToo) {
  options_.size = 1;
  open();
  const std::string long_id(600, 'L');
  std::vector<Update> us = {make_update(long_id)};
  write(us);
  write_ids({"short"});
  EXPECT_EQ(find(long_id), std::nullopt);
  close();
  RawEnv raw(options_.path);
  EXPECT_EQ(raw.entries("ids"), 1U);
}

TEST_F(LmdbStoreTest, CleanupFrequencyZeroOrSizeZeroKeepsEverything) {
  options_.size = 2;
  options_.cleanup_frequency = 0;
  open();
  write_ids({"a", "b", "c", "d"});
  EXPECT_EQ(store_->count(), 4U);
  options_.size = 0;
  options_.cleanup_frequency = 1;
  open();
  write_ids({"e"});
  EXPECT_EQ(store_->count(), 5U);
}

TEST_F(LmdbStoreTest, AllDuplicatesCommitNothing) {
  open();
  write_ids({"a"});
  auto out = write_ids({"a", "a"});
  EXPECT_EQ(out.accepted, 0U);
  EXPECT_EQ(store_->last_seq(), 1U);
  EXPECT_EQ(store_->count(), 1U);
}

TEST_F(LmdbStoreTest, MapGrowsFromOneMebibyteWhileWritingMoreThan16) {
  options_.map_size = 1 << 20;
  options_.size = 0;
  open();
  EXPECT_LT(store_->map_size(), 2U << 20);
  // A reader scans all along: growing must wait for (and not starve behind) read transactions.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> scans{0};
  std::thread reader([&] {
    while (!stop.load()) {
      std::uint64_t last = 0;
      auto r = store_->scan(0, 1'000'000, [&](const HistoryEvent& e) {
        EXPECT_GT(e.seq, last);
        last = e.seq;
        return true;
      });
      EXPECT_TRUE(r.has_value());
      scans.fetch_add(1);
    }
  });
  unsigned growths = 0;
  std::size_t written = 0;
  for (int b = 0; b < 20; ++b) {
    std::vector<Update> us;
    for (int i = 0; i < 64; ++i) {
      us.push_back(make_update("big-" + std::to_string(b) + "-" + std::to_string(i), {"t"}, false, 16 << 10));
      written += us.back().frame.size();
    }
    auto out = write(us);
    EXPECT_EQ(out.accepted, 64U);
    growths += out.map_growths;
  }
  stop.store(true);
  reader.join();
  EXPECT_GT(written, 16U << 20);
  EXPECT_GE(growths, 4U);
  EXPECT_GE(store_->map_size(), 16U << 20);
  EXPECT_EQ(store_->count(), 20U * 64U);
  EXPECT_GT(scans.load(), 0U);
  auto seen = scan_all();
  ASSERT_EQ(seen.size(), 20U * 64U);
  EXPECT_EQ(seen.back().frame.size(), (16U << 10) + std::string("id: big-19-63\ndata: \n\n").size());
  close();
  open();
  EXPECT_EQ(store_->count(), 20U * 64U) << "reopens with the grown map";
}

// A file-size limit (RLIMIT_FSIZE, soft) for the scope of a test, with SIGXFSZ ignored so that a
// write past it fails with EFBIG: a full disk without root. Restored whatever the outcome.
class FileSizeLimit final {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limited = previous_;
    limited.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  void lift() {
    if (lifted_) return;
    lifted_ = true;
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = SIG_DFL;
  bool lifted_ = false;
};

TEST_F(LmdbStoreTest, AFullDiskRefusesTheBatchAndTheStoreRecoversWhenSpaceIsBack) {
  options_.map_size = 1 << 20;
  open();
  write_ids({"a", "b"});
  ASSERT_TRUE(store_->probe_write().has_value()) << "a healthy store passes the probe";
  EXPECT_EQ(store_->last_seq(), 2U) << "the probe changes nothing";

  const auto data_file = options_.path + "/data.mdb";
  FileSizeLimit limit(std::filesystem::file_size(data_file));
  std::vector<Update> big;
  for (int i = 0; i < 8; ++i) big.push_back(make_update("big-" + std::to_string(i), {"t"}, false, 64 << 10));
  std::vector<Update*> ptrs;
  for (auto& u : big) ptrs.push_back(&u);
  auto refused = store_->write_batch(ptrs);
  ASSERT_FALSE(refused.has_value()) << "the data file cannot grow";
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().reason.find("history store write failed"), std::string::npos) << refused.error().reason;
  for (const auto& u : big) EXPECT_EQ(u.seq, 0U);
  auto probed = store_->probe_write();
  ASSERT_FALSE(probed.has_value()) << "the probe sees that the file cannot grow";
  EXPECT_EQ(probed.error().code, Errc::unavailable);
  EXPECT_EQ(store_->last_seq(), 2U);
  EXPECT_EQ(store_->count(), 2U);

  limit.lift();
  EXPECT_TRUE(store_->probe_write().has_value()) << "space is back";
  auto out = write(big);
  EXPECT_EQ(out.accepted, big.size());
  auto seen = scan_all();
  ASSERT_EQ(seen.size(), 2U + big.size());
  EXPECT_EQ(seen[1].id, "b");
  EXPECT_EQ(seen[2].id, "big-0");
  EXPECT_EQ(seen[2].seq, 3U) << "the refused batch used no seq";
  close();
  open();
  EXPECT_EQ(store_->count(), 2U + big.size()) << "the store reopens intact";
}

}  // namespace
}  // namespace mercure
