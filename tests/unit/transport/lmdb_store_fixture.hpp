#pragma once
// The fixture and helpers shared by lmdb_store_test.cpp and lmdb_store_startup_test.cpp: a store
// in a fresh temporary directory (removed in TearDown), a raw LMDB handle to tamper with a store
// that is not open.

#include "transport/lmdb_store.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure::test {

inline Update make_update(std::string id, std::vector<std::string> topics = {"https://example.com/t"},
                          bool priv = false, std::size_t data_size = 1) {
  Update u;
  u.id = std::move(id);
  u.topics = std::move(topics);
  u.is_private = priv;
  u.frame = "id: " + u.id + "\ndata: " + std::string(data_size, 'x') + "\n\n";
  return u;
}

struct Seen {
  std::uint64_t seq;
  std::string id;
  std::vector<std::string> topics;
  bool is_private;
  std::string frame;
};

// Opens the raw LMDB environment of a store that is NOT open in this process (tests only).
class RawEnv final {
 public:
  explicit RawEnv(const std::string& path) {
    EXPECT_EQ(mdb_env_create(&env_), 0);
    mdb_env_set_maxdbs(env_, 8);
    rc_ = mdb_env_open(env_, path.c_str(), 0, 0644);
    EXPECT_EQ(rc_, 0) << mdb_strerror(rc_);
  }
  ~RawEnv() { mdb_env_close(env_); }
  RawEnv(const RawEnv&) = delete;
  RawEnv& operator=(const RawEnv&) = delete;

  // Runs `f(txn, dbi)` on table `name` in a write transaction and commits.
  template <class F>
  void with_table(const char* name, F f) {
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env_, nullptr, 0, &txn), 0);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), 0);
    f(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
  }
  std::size_t entries(const char* name) {
    std::size_t n = 0;
    with_table(name, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_stat st{};
      mdb_stat(txn, dbi, &st);
      n = st.ms_entries;
    });
    return n;
  }

 private:
  MDB_env* env_ = nullptr;
  int rc_ = 0;
};

class LmdbStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    options_.path = dir_->sub("store");
    options_.map_size = 4 << 20;
  }
  void TearDown() override {
    store_.reset();
    dir_.reset();  // removes the directory, whatever the test's outcome
  }

  LmdbStore& open() {
    store_.reset();
    store_ = std::make_unique<LmdbStore>(options_);
    return *store_;
  }
  void close() { store_.reset(); }

  LmdbStore::BatchOutcome write(std::vector<Update>& updates) {
    std::vector<Update*> ptrs;
    for (auto& u : updates) ptrs.push_back(&u);
    auto out = store_->write_batch(ptrs);
    EXPECT_TRUE(out.has_value()) << (out ? "" : out.error().reason);
    return out ? *out : LmdbStore::BatchOutcome{};
  }
  LmdbStore::BatchOutcome write_ids(std::initializer_list<const char*> ids) {
    std::vector<Update> us;
    for (const char* id : ids) us.push_back(make_update(id));
    return write(us);
  }

  std::vector<Seen> scan_all(std::uint64_t after = 0, std::size_t max = 1'000'000,
                             History::ScanResult* result = nullptr) {
    std::vector<Seen> seen;
    auto r = store_->scan(after, max, [&](const HistoryEvent& e) {
      seen.push_back(
          Seen{e.seq, std::string(e.id), {e.topics.begin(), e.topics.end()}, e.is_private, std::string(e.frame)});
      return true;
    });
    EXPECT_TRUE(r.has_value());
    if (r && result) *result = *r;
    return seen;
  }

  std::optional<std::uint64_t> find(std::string_view id) {
    auto r = store_->find(id);
    EXPECT_TRUE(r.has_value());
    return r ? *r : std::nullopt;
  }

  std::string open_error() {
    try {
      LmdbStore store(options_);
    } catch (const StoreError& e) {
      return e.what();
    }
    ADD_FAILURE() << "the store opened";
    return {};
  }

  std::unique_ptr<TempDir> dir_;
  LmdbOptions options_;
  std::unique_ptr<LmdbStore> store_;
};

}  // namespace mercure::test
