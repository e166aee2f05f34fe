#include "transport/lmdb_store.hpp"

#include "lmdb_store_fixture.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

// Start-up errors: the store refuses to open (StoreError naming the path and the cause), and
// never starts empty over existing data.

namespace mercure {
namespace {

using test::RawEnv;

class LmdbStoreStartupTest : public test::LmdbStoreFixture {};

TEST_F(LmdbStoreStartupTest, RegularFileAtPathIsRefused) {
  std::ofstream(options_.path) << "not a directory";
  const std::string e = open_error();
  EXPECT_NE(e.find(options_.path), std::string::npos) << e;
  EXPECT_NE(e.find("not a directory"), std::string::npos) << e;
}

TEST_F(LmdbStoreStartupTest, SecondOpenWhileTheFirstIsOpenIsRefused) {
  open();
  const std::string e = open_error();
  EXPECT_EQ(e, options_.path + ": the history store is in use by another process");
  write_ids({"still-works"});
  EXPECT_EQ(find("still-works"), 1U);
  close();
  open();  // released on close
  EXPECT_EQ(store_->count(), 1U);
}

TEST_F(LmdbStoreStartupTest, GarbageDataFileIsRefusedAndKept) {
  std::filesystem::create_directories(options_.path);
  const std::string garbage(64 << 10, 'G');
  std::ofstream(options_.path + "/data.mdb", std::ios::binary) << garbage;
  const std::string e = open_error();
  EXPECT_NE(e.find(options_.path + ": not a valid mercure-hub history store ("), std::string::npos) << e;
  EXPECT_EQ(std::filesystem::file_size(options_.path + "/data.mdb"), garbage.size()) << "never overwritten";
}

TEST_F(LmdbStoreStartupTest, TruncatedDataFileIsRefusedAndKept) {
  std::filesystem::create_directories(options_.path);
  std::ofstream(options_.path + "/data.mdb", std::ios::binary) << std::string(100, '\0');
  EXPECT_NE(open_error().find("not a valid mercure-hub history store"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(options_.path + "/data.mdb"), 100U);
}

TEST_F(LmdbStoreStartupTest, EmptyDataFileIsANewStore) {
  std::filesystem::create_directories(options_.path);
  std::ofstream(options_.path + "/data.mdb", std::ios::binary).flush();
  open();  // nothing to lose: LMDB initializes an empty file
  EXPECT_EQ(store_->count(), 0U);
}

TEST_F(LmdbStoreStartupTest, SymlinkToAnOpenStoreIsRefused) {
  open();
  const std::string link = dir_->sub("link");
  std::filesystem::create_directory_symlink(options_.path, link);
  options_.path = link;
  EXPECT_EQ(open_error(), link + ": the history store is in use by another process");
}

TEST_F(LmdbStoreStartupTest, ForeignLmdbEnvironmentIsRefused) {
  std::filesystem::create_directories(options_.path);
  {
    RawEnv raw(options_.path);
    raw.with_table("users", [](MDB_txn*, MDB_dbi) {});
  }
  const std::string e = open_error();
  EXPECT_NE(e.find("not a valid mercure-hub history store (unexpected table \"users\")"), std::string::npos) << e;
}

TEST_F(LmdbStoreStartupTest, EventsWithoutMetaAreRefused) {
  std::filesystem::create_directories(options_.path);
  {
    RawEnv raw(options_.path);
    raw.with_table("events", [](MDB_txn* txn, MDB_dbi dbi) {
      char k[8] = {0, 0, 0, 0, 0, 0, 0, 1};
      MDB_val key{8, k}, val{3, const_cast<char*>("abc")};
      ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
    });
  }
  EXPECT_NE(open_error().find("(events present but meta missing)"), std::string::npos);
}

TEST_F(LmdbStoreStartupTest, UnknownFormatIsRefused) {
  open();
  close();
  {
    RawEnv raw(options_.path);
    raw.with_table("meta", [](MDB_txn* txn, MDB_dbi dbi) {
      MDB_val key{6, const_cast<char*>("format")}, val{18, const_cast<char*>("mercure-hub/lmdb/9")};
      ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
    });
  }
  EXPECT_NE(open_error().find("(unknown format \"mercure-hub/lmdb/9\")"), std::string::npos);
}

TEST_F(LmdbStoreStartupTest, UnreadableDirectoryIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  std::filesystem::create_directories(options_.path);
  std::filesystem::permissions(options_.path, std::filesystem::perms::none);
  const std::string e = open_error();
  EXPECT_NE(e.find(options_.path), std::string::npos) << e;
  EXPECT_NE(e.find("Permission denied"), std::string::npos) << e;
}

TEST_F(LmdbStoreStartupTest, UnwritableDataFileIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  open();
  close();
  std::filesystem::permissions(options_.path + "/data.mdb", std::filesystem::perms::owner_read);
  const std::string e = open_error();
  EXPECT_NE(e.find(options_.path + ": cannot open the history store: permission denied"), std::string::npos) << e;
}

}  // namespace
}  // namespace mercure
