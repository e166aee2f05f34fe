#include "transport/redis_options.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mercure {
namespace {

RedisOptions ok(std::string_view url) {
  auto r = parse_redis_url(url);
  EXPECT_TRUE(r.has_value()) << url << ": " << (r ? "" : r.error().reason);
  return r ? *r : RedisOptions{};
}

// The error's reason; fails the test when the URL was accepted or the code is not 400.
std::string bad(std::string_view url) {
  auto r = parse_redis_url(url);
  EXPECT_FALSE(r.has_value()) << url << " was accepted";
  if (r) return {};
  EXPECT_EQ(r.error().code, Errc::bad_request) << url;
  EXPECT_EQ(r.error().reason.find('\n'), std::string::npos) << "one line";
  return r.error().reason;
}

TEST(RedisOptions, DefaultsMatchTheDocumentation) {
  const RedisOptions o = ok("redis://localhost");
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0U);
  EXPECT_EQ(o.stream, "mercure");
  EXPECT_EQ(o.index_key(), "mercure:ids");
  EXPECT_EQ(o.size, 100'000U);
  EXPECT_EQ(o.max_batch, 1024U);
  EXPECT_EQ(o.node_timeout, std::chrono::seconds(15));
  EXPECT_EQ(o.subscriptions_key(), "mercure:subscriptions");
  EXPECT_EQ(o.nodes_key(), "mercure:nodes");
  EXPECT_EQ(o.node_key_prefix(), "mercure:node:");
  EXPECT_TRUE(o.username.empty());
  EXPECT_TRUE(o.password.empty());
}

TEST(RedisOptions, HostPortDatabaseAndParameters) {
  const RedisOptions o = ok("redis://10.0.0.7:6380/3?stream=hub%3Aevents&size=0&max_batch=64&node_timeout=60");
  EXPECT_EQ(o.node_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o.host, "10.0.0.7");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.db, 3U);
  EXPECT_EQ(o.stream, "hub:events");
  EXPECT_EQ(o.index_key(), "hub:events:ids");
  EXPECT_EQ(o.size, 0U);
  EXPECT_EQ(o.max_batch, 64U);
  EXPECT_EQ(o.describe(), "10.0.0.7:6380/3");
}

TEST(RedisOptions, BracketedIpv6) {
  const RedisOptions o = ok("redis://[::1]:7000/1");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.describe(), "[::1]:7000/1");
  EXPECT_EQ(ok("redis://[::1]").port, 6379);
}

TEST(RedisOptions, CredentialsArePercentDecodedAndNeverDescribed) {
  const RedisOptions both = ok("redis://hub:p%40ss%3Aword@cache:6379");
  EXPECT_EQ(both.username, "hub");
  EXPECT_EQ(both.password, "p@ss:word");
  EXPECT_EQ(both.host, "cache");
  EXPECT_EQ(both.describe().find("p@ss"), std::string::npos);
  // A lone userinfo, or an empty username, is the password (AUTH password).
  EXPECT_EQ(ok("redis://secret@cache").password, "secret");
  EXPECT_EQ(ok("redis://secret@cache").username, "");
  EXPECT_EQ(ok("redis://:secret@cache").password, "secret");
  EXPECT_EQ(ok("redis://:secret@cache").username, "");
}

TEST(RedisOptions, RedissIsTlsWithItsParameters) {
  const RedisOptions plain = ok("redis://cache");
  EXPECT_FALSE(plain.tls.has_value());
  EXPECT_EQ(plain.describe(), "cache:6379/0");

  const RedisOptions bare = ok("rediss://:pw@cache:6380/2?stream=s");
  ASSERT_TRUE(bare.tls.has_value());
  EXPECT_EQ(bare.host, "cache");
  EXPECT_EQ(bare.port, 6380);
  EXPECT_EQ(bare.db, 2u);
  EXPECT_EQ(bare.password, "pw");
  EXPECT_EQ(bare.stream, "s");
  EXPECT_EQ(bare.tls->ca_file, "");
  EXPECT_EQ(bare.tls->server_name, "");
  EXPECT_FALSE(bare.tls->insecure_skip_verify);
  EXPECT_EQ(bare.describe(), "cache:6380/2 (TLS)");

  const RedisOptions full =
      ok("rediss://10.0.0.7?tls_ca_file=/etc/ca%20dir/ca.pem&tls_cert_file=/c.pem&tls_key_file=/k.pem"
         "&tls_server_name=redis.internal&tls_insecure_skip_verify=TRUE");
  ASSERT_TRUE(full.tls.has_value());
  EXPECT_EQ(full.port, 6379);
  EXPECT_EQ(full.tls->ca_file, "/etc/ca dir/ca.pem");
  EXPECT_EQ(full.tls->cert_file, "/c.pem");
  EXPECT_EQ(full.tls->key_file, "/k.pem");
  EXPECT_EQ(full.tls->server_name, "redis.internal");
  EXPECT_TRUE(full.tls->insecure_skip_verify);
  EXPECT_FALSE(ok("rediss://cache?tls_insecure_skip_verify=0").tls->insecure_skip_verify);
}

TEST(RedisOptions, TlsParametersNeedRedissAndMakeSense) {
  EXPECT_NE(bad("redis://cache?tls_ca_file=/ca.pem").find("needs a rediss:// URL"), std::string::npos);
  EXPECT_NE(bad("redis://cache?tls_insecure_skip_verify=true").find("rediss://"), std::string::npos);
  EXPECT_NE(bad("rediss://cache?tls_cert_file=/c.pem").find("go together"), std::string::npos);
  EXPECT_NE(bad("rediss://cache?tls_key_file=/k.pem").find("go together"), std::string::npos);
  EXPECT_NE(bad("rediss://cache?tls_insecure_skip_verify=yes").find("true or false"), std::string::npos);
  EXPECT_NE(bad("rediss://cache?tls_server_name=a%20b").find("tls_server_name"), std::string::npos);
  EXPECT_NE(bad("rediss://cache?tls_ca=/ca.pem").find("unknown parameter \"tls_ca\""), std::string::npos);
  EXPECT_NE(bad("rediss:cache").find("rediss://"), std::string::npos);
  EXPECT_NE(bad("rediss://").find("host"), std::string::npos);
}

TEST(RedisOptions, RefusesWhatItCannotServe) {
  EXPECT_NE(bad("redis:cache").find("redis://"), std::string::npos);
  EXPECT_NE(bad("redis://").find("host"), std::string::npos);
  EXPECT_NE(bad("redis://:pw@/0").find("host"), std::string::npos);
  EXPECT_NE(bad("redis://cache:0").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://cache:65536").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://cache:63x").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://cache/db1").find("database"), std::string::npos);
  EXPECT_NE(bad("redis://cache/0#frag").find("fragment"), std::string::npos);
  EXPECT_NE(bad("redis://[::1/0").find("]"), std::string::npos);
  EXPECT_NE(bad("redis://cache?size=-1").find("size"), std::string::npos);
  EXPECT_NE(bad("redis://cache?max_batch=0").find("max_batch"), std::string::npos);
  EXPECT_NE(bad("redis://cache?max_batch=100001").find("max_batch"), std::string::npos);
  EXPECT_NE(bad("redis://cache?node_timeout=1").find("node_timeout"), std::string::npos);
  EXPECT_NE(bad("redis://cache?node_timeout=3601").find("node_timeout"), std::string::npos);
  EXPECT_NE(bad("redis://cache?node_timeout=15s").find("number of seconds"), std::string::npos);
  EXPECT_NE(bad("redis://cache?stream=a%20b").find("stream"), std::string::npos);
  EXPECT_NE(bad("redis://cache?stream=").find("stream"), std::string::npos);
  EXPECT_NE(bad("redis://cache?size=1&size=2").find("more than once"), std::string::npos);
  EXPECT_NE(bad("redis://cache?path=/x").find("unknown parameter"), std::string::npos);
}

TEST(RedisOptions, ErrorsNeverEchoThePassword) {
  for (const char* url : {"redis://u:hunter2@cache:99999", "redis://u:hunter2@cache?bogus=1", "redis://u:hunter2@/0"}) {
    EXPECT_EQ(bad(url).find("hunter2"), std::string::npos) << url;
  }
}

}  // namespace
}  // namespace mercure
