#include "core/verified_token_cache.hpp"
#include "core/authorizer.hpp"
#include "core/clock.hpp"
#include "core/jwt_signer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mercure {
namespace {

constexpr std::string_view kKey = "!ChangeThisMercureHubJWTSecretKey!";

Claims claims_publishing(std::string topic) {
  Claims c;
  c.publish = std::vector<std::string>{std::move(topic)};
  return c;
}

std::string token(const std::string& claims_json, std::string_view key = kKey) {
  auto t = sign_jwt(JwtAlgorithm::HS256, key, claims_json);
  EXPECT_TRUE(t.has_value());
  return t ? *t : std::string();
}

TEST(VerifiedTokenCache, FindsWhatWasInsertedByExactBytes) {
  VerifiedTokenCache cache(4);
  EXPECT_EQ(cache.find("a.b.c"), nullptr);
  cache.insert("a.b.c", claims_publishing("t"));
  ASSERT_NE(cache.find("a.b.c"), nullptr);
  EXPECT_EQ(cache.find("a.b.c")->publish->front(), "t");
  EXPECT_EQ(cache.find("a.b.c "), nullptr);
  EXPECT_EQ(cache.find("a.b.C"), nullptr);
}

TEST(VerifiedTokenCache, EvictsTheOldestPastCapacity) {
  VerifiedTokenCache cache(3);
  for (int i = 0; i < 3; ++i) cache.insert("t" + std::to_string(i), claims_publishing(std::to_string(i)));
  cache.insert("t0", claims_publishing("again"));  // already there: no change, no eviction
  EXPECT_EQ(cache.find("t0")->publish->front(), "0");
  cache.insert("t3", claims_publishing("3"));
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_EQ(cache.find("t0"), nullptr);
  EXPECT_NE(cache.find("t1"), nullptr);
  cache.insert("t4", claims_publishing("4"));
  EXPECT_EQ(cache.find("t1"), nullptr);
  EXPECT_NE(cache.find("t2"), nullptr);
  EXPECT_NE(cache.find("t4"), nullptr);
}

TEST(VerifiedTokenCache, AuthorizerChecksTheTimeWindowAgainOnEveryHit) {
  ManualClock clock(1'000);
  Authorizer auth(JwtKey{JwtAlgorithm::HS256, std::string(kKey)}, JwtKey{JwtAlgorithm::HS256, std::string(kKey)},
                  clock);
  VerifiedTokenCache cache;
  const auto t = token(R"({"mercure":{"publish":["*"]},"nbf":900,"exp":1100})");
  ASSERT_TRUE(auth.verify_publisher(t, cache).has_value());
  EXPECT_EQ(cache.size(), 1U);
  clock.set(1'050);
  ASSERT_TRUE(auth.verify_publisher(t, cache).has_value());
  clock.set(1'100);
  auto expired = auth.verify_publisher(t, cache);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().check, kJwtCheckExp);
  clock.set(899);
  auto early = auth.verify_publisher(t, cache);
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().check, kJwtCheckNbf);
}

TEST(VerifiedTokenCache, AuthorizerNeverCachesAFailureNorAnExpiredToken) {
  ManualClock clock(1'000);
  Authorizer auth(JwtKey{JwtAlgorithm::HS256, std::string(kKey)}, JwtKey{JwtAlgorithm::HS256, std::string(kKey)},
                  clock);
  VerifiedTokenCache cache;
  const auto other_key = token(R"({"mercure":{"publish":["*"]}})", "another key, another key, another!");
  EXPECT_FALSE(auth.verify_publisher(other_key, cache).has_value());
  EXPECT_FALSE(auth.verify_publisher(other_key, cache).has_value());
  const auto expired = token(R"({"mercure":{"publish":["*"]},"exp":10})");
  EXPECT_FALSE(auth.verify_publisher(expired, cache).has_value());
  EXPECT_EQ(cache.size(), 0U);

  // A cached good token does not make a tampered copy of it pass.
  const auto good = token(R"({"mercure":{"publish":["a"]}})");
  ASSERT_TRUE(auth.verify_publisher(good, cache).has_value());
  std::string tampered = good;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(auth.verify_publisher(tampered, cache).has_value());
}

TEST(VerifiedTokenCache, RolesUseTheirOwnKeysWhateverTheCache) {
  ManualClock clock(1'000);
  Authorizer auth(JwtKey{JwtAlgorithm::HS256, std::string(kKey)},
                  JwtKey{JwtAlgorithm::HS256, std::string("the subscriber key, not the publisher's")}, clock);
  VerifiedTokenCache publishers;
  VerifiedTokenCache subscribers;
  const auto t = token(R"({"mercure":{"publish":["*"],"subscribe":["*"]}})");
  ASSERT_TRUE(auth.verify_publisher(t, publishers).has_value());
  EXPECT_FALSE(auth.verify_subscriber(t, subscribers).has_value());
}

}  // namespace
}  // namespace mercure
