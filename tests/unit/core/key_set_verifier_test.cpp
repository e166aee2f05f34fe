#include "core/key_set_verifier.hpp"

#include "core/authorizer.hpp"
#include "core/base64url.hpp"
#include "core/clock.hpp"
#include "core/verified_token_cache.hpp"

#include "jwk_cases.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace mercure {
namespace {

using jwk_test::key_set_of;
using jwk_test::load_jwk_cases;

const boost::json::object& entry(const jwk_test::JwkCases& cases, const char* name) {
  return cases.keys.at(name).as_object();
}
const boost::json::value& case_jwk(const jwk_test::JwkCases& cases, const char* name) {
  return entry(cases, name).at("jwk");
}
std::string token_of(const jwk_test::JwkCases& cases, const char* name) {
  return std::string(entry(cases, name).at("token").as_string());
}

KeySetVerifier verifier_of(const std::string& set_json) {
  auto set = parse_jwk_set(set_json);
  EXPECT_TRUE(set) << set.error().reason;
  return KeySetVerifier(*set);
}

// `token` with its header replaced by `header_json` (the signature no longer matches it).
std::string with_header(const std::string& token, const std::string& header_json) {
  return base64url_encode(header_json) + token.substr(token.find('.'));
}

TEST(KeySetVerifier, EveryTokenJoseSignedWithAKidVerifiesThroughTheWholeSet) {
  const auto cases = load_jwk_cases();
  boost::json::array all;
  for (const auto& [name, e] : cases.keys) all.push_back(e.as_object().at("jwk"));
  all.push_back(cases.short_x_jwk);
  const KeySetVerifier verifier = verifier_of(boost::json::serialize(boost::json::object{{"keys", all}}));
  EXPECT_EQ(verifier.key_count(), 21U) << "the 20 asymmetric keys and the short-x one (HMAC keys are left out)";
  EXPECT_TRUE(verifier.verify_untimed(cases.short_x_token));
  for (const auto& [name, e] : cases.keys) {
    SCOPED_TRACE(std::string(name));
    if (std::string_view(name).starts_with("HS")) {
      const auto refused = verifier.verify_untimed(e.as_object().at("token").as_string());
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().check, kJwtCheckKid);
      continue;
    }
    auto claims = verifier.verify_untimed(e.as_object().at("token").as_string());
    ASSERT_TRUE(claims) << claims.error().reason;
    ASSERT_TRUE(claims->publish.has_value());
    EXPECT_EQ(*claims->publish, std::vector<std::string>{"https://example.com/jwks/{id}"});
  }
}

TEST(KeySetVerifier, AnUnknownKidIsRefusedWithTheKidCheckBeforeAnySignatureWork) {
  const auto cases = load_jwk_cases();
  const KeySetVerifier verifier = verifier_of(key_set_of({case_jwk(cases, "ES256")}));
  const auto claims = verifier.verify_untimed(with_header(token_of(cases, "ES256"), R"({"alg":"ES256","kid":"new"})"));
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().code, Errc::unauthorized);
  EXPECT_EQ(claims.error().check, kJwtCheckKid);
  EXPECT_EQ(claims.error().reason, R"(no key with kid "new" in the key set)");
}

TEST(KeySetVerifier, TheKeyNamedByTheKidMustBeTheSigningKey) {
  const auto cases = load_jwk_cases();
  // The other RS256 key published under the kid the token names.
  auto impostor = case_jwk(cases, "RS256-other").as_object();
  impostor["kid"] = "RS256";
  const KeySetVerifier verifier = verifier_of(key_set_of({impostor, case_jwk(cases, "RS256-other")}));
  const auto claims = verifier.verify_untimed(token_of(cases, "RS256"));
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().check, kJwtCheckSignature);
}

TEST(KeySetVerifier, AKeyVerifiesOnlyTheAlgorithmsItMay) {
  const auto cases = load_jwk_cases();
  const KeySetVerifier verifier = verifier_of(key_set_of({case_jwk(cases, "RS256"), case_jwk(cases, "ES256")}));
  // HS256 under the RSA key's kid (the classic confusion: the public key as an HMAC secret).
  for (const char* header : {R"({"alg":"HS256","kid":"RS256"})", R"({"alg":"PS256","kid":"RS256"})",
                             R"({"alg":"RS256","kid":"ES256"})", R"({"alg":"HS256"})"}) {
    SCOPED_TRACE(header);
    const auto claims = verifier.verify_untimed(with_header(token_of(cases, "RS256"), header));
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error().check, kJwtCheckAlg);
  }
  const auto none = verifier.verify_untimed(with_header(token_of(cases, "RS256"), R"({"alg":"none","kid":"RS256"})"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().check, kJwtCheckAlg);
  EXPECT_EQ(none.error().reason, "unsecured token (alg none) not allowed");
}

TEST(KeySetVerifier, ATokenWithoutKidIsTriedWithEveryKeyOfItsAlgorithm) {
  const auto jwt = jwt_test::load_jwt_cases();
  const auto cases = load_jwk_cases();
  const KeySetVerifier verifier =
      verifier_of(key_set_of({case_jwk(cases, "ES256-other"), case_jwk(cases, "RS256"), case_jwk(cases, "ES256")}));
  int checked = 0;
  for (const auto& c : jwt.cases) {
    const auto& o = c.as_object();
    // (Tokens with a kid of their own are for the configured-key mode, where it is ignored.)
    if (o.at("key").as_string() != "ES256" || !o.at("valid").as_bool()) continue;
    if (std::string_view(o.at("name").as_string()).find("kid") != std::string_view::npos) continue;
    auto claims = verifier.verify_untimed(o.at("token").as_string());
    EXPECT_TRUE(claims) << o.at("name").as_string() << ": " << claims.error().reason;
    ++checked;
  }
  EXPECT_GT(checked, 0);
  const KeySetVerifier without_it = verifier_of(key_set_of({case_jwk(cases, "ES256-other")}));
  for (const auto& c : jwt.cases) {
    const auto& o = c.as_object();
    if (o.at("key").as_string() != "ES256" || !o.at("valid").as_bool()) continue;
    const auto claims = without_it.verify_untimed(o.at("token").as_string());
    ASSERT_FALSE(claims);
    EXPECT_EQ(claims.error().check, kJwtCheckSignature);
    break;
  }
}

TEST(KeySetVerifier, EveryKeyUnderTheTokensKidIsTried) {
  const auto cases = load_jwk_cases();
  // Two keys published under one kid while a provider rotates.
  auto first = case_jwk(cases, "ES256-other").as_object();
  first["kid"] = "ES256";
  const KeySetVerifier verifier = verifier_of(key_set_of({first, case_jwk(cases, "ES256")}));
  EXPECT_TRUE(verifier.verify_untimed(token_of(cases, "ES256")));
}

TEST(KeySetVerifier, ATokenWithoutKidNeedsOneWhenManyKeysCouldVerifyIt) {
  const auto jwt = jwt_test::load_jwt_cases();
  const auto cases = load_jwk_cases();
  // Nine RSA keys without alg: each may verify RS256; the signing key comes last.
  boost::json::array nine;
  for (const char* name :
       {"RS256-other", "RS384", "RS384-other", "RS512", "RS512-other", "PS256", "PS256-other", "PS384", "RS256"}) {
    auto jwk = case_jwk(cases, name).as_object();
    jwk.erase("alg");
    nine.push_back(jwk);
  }
  std::string kidless;
  for (const auto& c : jwt.cases) {
    const auto& o = c.as_object();
    if (o.at("key").as_string() == "RS256" && o.at("valid").as_bool() &&
        std::string_view(o.at("name").as_string()).find("kid") == std::string_view::npos) {
      kidless = std::string(o.at("token").as_string());
      break;
    }
  }
  ASSERT_FALSE(kidless.empty());
  const KeySetVerifier nine_keys = verifier_of(boost::json::serialize(boost::json::object{{"keys", nine}}));
  const auto refused = nine_keys.verify_untimed(kidless);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, "token without kid, and 9 keys of the key set verify RS256 (a kid is required)");
  nine.erase(nine.begin());  // eight: each is tried, the last one verifies
  const KeySetVerifier eight_keys = verifier_of(boost::json::serialize(boost::json::object{{"keys", nine}}));
  EXPECT_TRUE(eight_keys.verify_untimed(kidless));
}

// --- the Authorizer with a key set -----------------------------------------------------------

struct KeySetRole : ::testing::Test {
  jwk_test::JwkCases cases = load_jwk_cases();
  ManualClock clock{cases.now};
  std::shared_ptr<KeySetSource> source = std::make_shared<KeySetSource>("https://idp.example/jwks");
  Authorizer authorizer{JwtKey{JwtAlgorithm::HS256, "", source}, JwtKey{}, clock};
  VerifiedTokenCache cache;

  void publish_set(std::initializer_list<boost::json::value> keys) {
    auto set = parse_jwk_set(key_set_of(keys));
    ASSERT_TRUE(set);
    source->replace(std::make_shared<const KeySetVerifier>(*set));
  }
  bool refresh_requested() { return source->wait_for_refresh_request(std::chrono::steady_clock::now()); }
};

TEST_F(KeySetRole, BeforeTheSetIsLoadedTokensAreRefusedWithAReason) {
  const auto claims = authorizer.verify_publisher(token_of(cases, "EdDSA"), cache);
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().reason, "the publisher key set is not loaded");
  EXPECT_FALSE(authorizer.has_subscriber_key());
}

TEST_F(KeySetRole, AnUnknownKidAsksTheFetcherForTheSetAgain) {
  publish_set({case_jwk(cases, "ES384")});
  EXPECT_FALSE(refresh_requested());
  const auto refused = authorizer.verify_publisher(token_of(cases, "EdDSA"), cache);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().check, kJwtCheckKid);
  EXPECT_TRUE(refresh_requested());
  EXPECT_FALSE(refresh_requested()) << "one request is consumed once";
  // A bad signature under a known kid is no reason to fetch.
  const auto forged = authorizer.verify_publisher(
      with_header(token_of(cases, "ES384"), R"({"alg":"ES384","kid":"ES384","typ":"x"})"), cache);
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().check, kJwtCheckSignature);
  EXPECT_FALSE(refresh_requested());

  publish_set({case_jwk(cases, "ES384"), case_jwk(cases, "EdDSA")});
  EXPECT_TRUE(authorizer.verify_publisher(token_of(cases, "EdDSA"), cache));
}

TEST_F(KeySetRole, AKeyRemovedFromTheSetNoLongerVerifiesEvenACachedToken) {
  publish_set({case_jwk(cases, "PS384"), case_jwk(cases, "ES256")});
  const std::string token = token_of(cases, "PS384");
  ASSERT_TRUE(authorizer.verify_publisher(token, cache));
  ASSERT_EQ(cache.size(), 1U);
  ASSERT_TRUE(authorizer.verify_publisher(token, cache)) << "from the cache";
  publish_set({case_jwk(cases, "ES256")});
  const auto claims = authorizer.verify_publisher(token, cache);
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().check, kJwtCheckKid);
  EXPECT_TRUE(authorizer.verify_publisher(token_of(cases, "ES256"), cache));
}

TEST_F(KeySetRole, TheTimeWindowIsStillChecked) {
  publish_set({case_jwk(cases, "ES512")});
  clock.set(entry(cases, "ES512").at("claims").as_object().at("exp").to_number<std::int64_t>());
  const auto claims = authorizer.verify_publisher(token_of(cases, "ES512"), cache);
  ASSERT_FALSE(claims);
  EXPECT_EQ(claims.error().check, kJwtCheckExp);
}

TEST_F(KeySetRole, VerifiesConcurrentlyWhileTheSetIsReplaced) {
  // Shards verify on their threads while the fetcher installs new sets (run under TSan too).
  publish_set({case_jwk(cases, "ES256"), case_jwk(cases, "EdDSA")});
  auto a = parse_jwk_set(key_set_of({case_jwk(cases, "ES256"), case_jwk(cases, "EdDSA")}));
  auto b = parse_jwk_set(key_set_of({case_jwk(cases, "ES256")}));
  ASSERT_TRUE(a && b);
  const auto with_both = std::make_shared<const KeySetVerifier>(*a);
  const auto without_eddsa = std::make_shared<const KeySetVerifier>(*b);
  std::atomic<bool> done{false};
  std::atomic<int> es256_refusals{0};
  std::vector<std::thread> shards;
  for (int i = 0; i < 3; ++i) {
    shards.emplace_back([&] {
      VerifiedTokenCache shard_cache;
      while (!done.load()) {
        if (!authorizer.verify_publisher(token_of(cases, "ES256"), shard_cache)) ++es256_refusals;
        (void)authorizer.verify_publisher(token_of(cases, "EdDSA"), shard_cache);
      }
    });
  }
  for (int i = 0; i < 200; ++i) source->replace(i % 2 == 0 ? without_eddsa : with_both);
  done = true;
  for (auto& t : shards) t.join();
  EXPECT_EQ(es256_refusals.load(), 0) << "a key in every set verifies throughout";
  EXPECT_EQ(source->generation(), 201U);
}

TEST(KeySetSource, ManyRequestsBeforeTheFetcherLooksAreOne) {
  KeySetSource source("https://idp.example/jwks");
  for (int i = 0; i < 100; ++i) source.request_refresh();
  EXPECT_TRUE(source.take_refresh_request());
  EXPECT_FALSE(source.take_refresh_request());
  source.request_refresh();  // after the fetch began: asks for the next one
  EXPECT_TRUE(source.wait_for_refresh_request(std::chrono::steady_clock::now()));
  EXPECT_FALSE(source.wait_until_stopped(std::chrono::steady_clock::now()));
}

TEST(KeySetSource, ATicketOnlyWhenAFetchIsUnderWayOrStartsAtOnce) {
  using Clock = std::chrono::steady_clock;
  KeySetSource source("https://idp.example/jwks");
  int told = 0;
  const auto id = source.add_listener([&] { ++told; });
  EXPECT_FALSE(source.refresh_ticket()) << "nothing asked for";
  source.request_refresh();
  ASSERT_EQ(source.refresh_ticket(), 0U) << "the first unknown kid is fetched at once";
  ASSERT_TRUE(source.wait_for_refresh_request(Clock::now()));
  EXPECT_EQ(source.refresh_ticket(), 0U) << "the fetcher took the request: the fetch is under way";
  source.fetch_started();
  source.fetch_ended(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(source.fetches_ended(), 1U);
  EXPECT_EQ(told, 1);
  EXPECT_FALSE(source.refresh_ticket());
  source.request_refresh();
  EXPECT_FALSE(source.refresh_ticket()) << "within the minimum interval: answered at once";
  ASSERT_TRUE(source.wait_for_refresh_request(Clock::now()));
  EXPECT_FALSE(source.refresh_ticket()) << "the fetcher waits out the interval first";
  source.fetch_started();
  EXPECT_EQ(source.refresh_ticket(), 1U) << "a periodic or delayed fetch under way is waited for too";
  source.fetch_ended(Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(told, 2);
  source.request_refresh();
  EXPECT_EQ(source.refresh_ticket(), 2U) << "the interval is over";
  source.remove_listener(id);
  source.stop();
  EXPECT_EQ(told, 2) << "a removed listener is not called";
  EXPECT_FALSE(source.refresh_ticket()) << "stopped: no fetch to wait for";
}

TEST(KeySetSource, StopTellsTheListeners) {
  KeySetSource source("https://idp.example/jwks");
  int told = 0;
  (void)source.add_listener([&] { ++told; });
  source.stop();
  EXPECT_EQ(told, 1);
}

TEST(KeySetSource, StopWakesAWaitingFetcherWithoutARequest) {
  KeySetSource source("file:///etc/jwks.json");
  std::thread stopper([&] { source.stop(); });
  EXPECT_FALSE(source.wait_for_refresh_request(std::chrono::steady_clock::now() + std::chrono::hours(1)));
  stopper.join();
}

}  // namespace
}  // namespace mercure
