#include "transport/lmdb_options.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mercure {
namespace {

LmdbOptions ok(std::string_view url) {
  auto r = parse_lmdb_url(url);
  EXPECT_TRUE(r.has_value()) << url << ": " << (r ? "" : r.error().reason);
  return r ? *r : LmdbOptions{};
}

// The error's reason; fails the test when the URL was accepted or the code is not 400.
std::string bad(std::string_view url) {
  auto r = parse_lmdb_url(url);
  EXPECT_FALSE(r.has_value()) << url << " was accepted";
  if (r) return {};
  EXPECT_EQ(r.error().code, Errc::bad_request) << url;
  EXPECT_EQ(r.error().reason.find('\n'), std::string::npos) << "one line";
  return r.error().reason;
}

TEST(LmdbOptions, DefaultsMatchTheDocumentation) {
  const LmdbOptions o;
  EXPECT_EQ(o.path, "mercure.lmdb");
  EXPECT_EQ(o.size, 1'000'000U);
  EXPECT_DOUBLE_EQ(o.cleanup_frequency, 0.3);
  EXPECT_EQ(o.map_size, 64U << 20);
  EXPECT_TRUE(o.sync);
  EXPECT_EQ(o.max_batch, 4096U);
  EXPECT_TRUE(o.warnings.empty());
}

TEST(LmdbOptions, AbsolutePath) {
  EXPECT_EQ(ok("lmdb:///var/lib/mercure/hub.lmdb").path, "/var/lib/mercure/hub.lmdb");
}

TEST(LmdbOptions, RelativePathIsHostPlusPath) {
  EXPECT_EQ(ok("lmdb://updates.lmdb").path, "updates.lmdb");
  EXPECT_EQ(ok("lmdb://data/hub").path, "data/hub");
  EXPECT_EQ(ok("lmdb://./x").path, "./x");
}

TEST(LmdbOptions, EmptyPathMeansTheDefault) {
  EXPECT_EQ(ok("lmdb://").path, "mercure.lmdb");
  EXPECT_EQ(ok("lmdb:").path, "mercure.lmdb");
  EXPECT_EQ(ok("lmdb:?size=5").path, "mercure.lmdb");
  EXPECT_EQ(ok("lmdb://?size=5").size, 5U);
}

TEST(LmdbOptions, PathIsPercentDecoded) {
  EXPECT_EQ(ok("lmdb:///tmp/my%20store%2Fx").path, "/tmp/my store/x");
  EXPECT_EQ(ok("lmdb:///tmp/a+b").path, "/tmp/a+b") << "'+' is literal in a path";
  EXPECT_NE(bad("lmdb:///tmp/%zz").find("path"), std::string::npos);
  EXPECT_NE(bad("lmdb:///tmp/%2").find("path"), std::string::npos);
  EXPECT_NE(bad("lmdb:///tmp/%").find("path"), std::string::npos);
  EXPECT_NE(bad("lmdb:///tmp/a%00b").find("NUL"), std::string::npos);
}

TEST(LmdbOptions, AllParameters) {
  const LmdbOptions o =
      ok("lmdb:///s?size=10&cleanup_frequency=0.5&map_size=2097152&sync=false&max_batch=1&bucket_name=updates");
  EXPECT_EQ(o.path, "/s");
  EXPECT_EQ(o.size, 10U);
  EXPECT_DOUBLE_EQ(o.cleanup_frequency, 0.5);
  EXPECT_EQ(o.map_size, 2097152U);
  EXPECT_FALSE(o.sync);
  EXPECT_EQ(o.max_batch, 1U);
  EXPECT_TRUE(o.warnings.empty());
}

TEST(LmdbOptions, SizeZeroIsUnbounded) {
  EXPECT_EQ(ok("lmdb://x?size=0").size, 0U);
}

TEST(LmdbOptions, SizeAcceptsTheWholeUint64Range) {
  EXPECT_EQ(ok("lmdb://x?size=18446744073709551615").size, 18446744073709551615ULL);
  EXPECT_NE(bad("lmdb://x?size=18446744073709551616").find("\"size\""), std::string::npos);
}

TEST(LmdbOptions, BadSizeNamesTheParameter) {
  for (const char* v : {"-1", "+1", " 1", "1 ", "1k", "abc", "1.5", "0x10"}) {
    const std::string reason = bad(std::string("lmdb://x?size=") + v);
    EXPECT_NE(reason.find("\"size\""), std::string::npos) << v << ": " << reason;
  }
}

TEST(LmdbOptions, CleanupFrequencyBetweenZeroAndOne) {
  EXPECT_DOUBLE_EQ(ok("lmdb://x?cleanup_frequency=0").cleanup_frequency, 0.0);
  EXPECT_DOUBLE_EQ(ok("lmdb://x?cleanup_frequency=1").cleanup_frequency, 1.0);
  EXPECT_DOUBLE_EQ(ok("lmdb://x?cleanup_frequency=1e-3").cleanup_frequency, 0.001);
  for (const char* v : {"-0.1", "1.01", "nan", "inf", "x", "0.5x", "2"}) {
    const std::string reason = bad(std::string("lmdb://x?cleanup_frequency=") + v);
    EXPECT_NE(reason.find("\"cleanup_frequency\""), std::string::npos) << v << ": " << reason;
  }
}

TEST(LmdbOptions, MapSizeAtLeastOneMebibyte) {
  EXPECT_EQ(ok("lmdb://x?map_size=1048576").map_size, 1048576U);
  EXPECT_EQ(ok("lmdb://x?map_size=1099511627776").map_size, 1099511627776U);
  for (const char* v : {"1048575", "0", "64MiB", "-5"}) {
    const std::string reason = bad(std::string("lmdb://x?map_size=") + v);
    EXPECT_NE(reason.find("\"map_size\""), std::string::npos) << v << ": " << reason;
  }
}

TEST(LmdbOptions, SyncIsABoolean) {
  EXPECT_TRUE(ok("lmdb://x?sync=1").sync);
  EXPECT_TRUE(ok("lmdb://x?sync=true").sync);
  EXPECT_TRUE(ok("lmdb://x?sync=TRUE").sync);
  EXPECT_FALSE(ok("lmdb://x?sync=0").sync);
  EXPECT_FALSE(ok("lmdb://x?sync=false").sync);
  EXPECT_FALSE(ok("lmdb://x?sync=False").sync);
  for (const char* v : {"yes", "no", "2", "on"}) {
    EXPECT_NE(bad(std::string("lmdb://x?sync=") + v).find("\"sync\""), std::string::npos) << v;
  }
}

TEST(LmdbOptions, MaxBatchFromOneToAMillion) {
  EXPECT_EQ(ok("lmdb://x?max_batch=1").max_batch, 1U);
  EXPECT_EQ(ok("lmdb://x?max_batch=1000000").max_batch, 1'000'000U);
  for (const char* v : {"0", "1000001", "-1", "many"}) {
    EXPECT_NE(bad(std::string("lmdb://x?max_batch=") + v).find("\"max_batch\""), std::string::npos) << v;
  }
}

TEST(LmdbOptions, BucketNameIsAcceptedAndIgnored) {
  const LmdbOptions o = ok("lmdb://x?bucket_name=whatever");
  EXPECT_EQ(o.path, "x");
  EXPECT_TRUE(o.warnings.empty());
}

TEST(LmdbOptions, UnknownParameterIsNamed) {
  const std::string reason = bad("lmdb://x?sizes=10");
  EXPECT_NE(reason.find("unknown parameter \"sizes\""), std::string::npos) << reason;
}

TEST(LmdbOptions, EmptyOrMissingValueIsRejected) {
  EXPECT_NE(bad("lmdb://x?size=").find("\"size\" needs a value"), std::string::npos);
  EXPECT_NE(bad("lmdb://x?size").find("\"size\" needs a value"), std::string::npos);
}

TEST(LmdbOptions, RepeatedParameterIsRejected) {
  EXPECT_NE(bad("lmdb://x?size=1&size=2").find("more than once"), std::string::npos);
}

TEST(LmdbOptions, QueryIsPercentDecoded) {
  EXPECT_EQ(ok("lmdb://x?%73ize=%31%30").size, 10U);
  EXPECT_NE(bad("lmdb://x?size=%3").find("\"size\""), std::string::npos);
  EXPECT_NE(bad("lmdb://x?si%ze=1").find("percent"), std::string::npos);
}

TEST(LmdbOptions, EmptyQueryPairsAreSkipped) {
  EXPECT_EQ(ok("lmdb://x?").path, "x");
  EXPECT_EQ(ok("lmdb://x?&size=3&&").size, 3U);
}

TEST(LmdbOptions, FragmentAndOpaqueFormsAreRejected) {
  EXPECT_NE(bad("lmdb:///x#frag").find("fragment"), std::string::npos);
  EXPECT_NE(bad("lmdb:relative").find("\"//\""), std::string::npos);
  EXPECT_NE(bad("lmdb:/abs").find("\"//\""), std::string::npos);
}

TEST(LmdbOptions, OtherSchemesAreRejected) {
  bad("local://");
  bad("redis://localhost");
  bad("LMDB://x");
  bad("");
}

TEST(LmdbOptions, BoltIsServedByLmdbWithAWarning) {
  const LmdbOptions o = ok("bolt:///var/lib/mercure/updates.db?size=1000&cleanup_frequency=0.5&bucket_name=u");
  EXPECT_EQ(o.path, "/var/lib/mercure/updates.db.lmdb");
  EXPECT_EQ(o.size, 1000U);
  EXPECT_DOUBLE_EQ(o.cleanup_frequency, 0.5);
  ASSERT_EQ(o.warnings.size(), 1U);
  EXPECT_EQ(o.warnings[0],
            "bolt:// is served by the LMDB store at /var/lib/mercure/updates.db.lmdb; history in the Bolt file "
            "/var/lib/mercure/updates.db is not imported");
}

TEST(LmdbOptions, BoltRelativePathAndLmdbSuffix) {
  EXPECT_EQ(ok("bolt://updates.db").path, "updates.db.lmdb");
  const LmdbOptions o = ok("bolt://store.lmdb");
  EXPECT_EQ(o.path, "store.lmdb") << "already ends in .lmdb";
  ASSERT_EQ(o.warnings.size(), 1U);
  EXPECT_NE(o.warnings[0].find("Bolt file store.lmdb"), std::string::npos);
}

TEST(LmdbOptions, BoltWithoutPathUsesTheReferenceDefault) {
  const LmdbOptions o = ok("bolt://");
  EXPECT_EQ(o.path, "bolt.db.lmdb");
  ASSERT_EQ(o.warnings.size(), 1U);
}

TEST(LmdbOptions, BoltRejectsWhatLmdbRejects) {
  EXPECT_NE(bad("bolt://x.db?colour=red").find("\"colour\""), std::string::npos);
  bad("bolt:x.db");
}

}  // namespace
}  // namespace mercure
