#include "core/jwt_signer.hpp"

#include "core/base64url.hpp"
#include "core/jwt_verifier.hpp"
#include "jwt_cases.hpp"
#include "jwt_parts.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace mercure {
namespace {

using jwt_test::kSecret;

using jwt_test::part;

TEST(JwtSigner, MatchesJoseByteForByteForHs256) {
  // Minted by npm jose 6.2.17: new SignJWT({mercure:{publish:["*"]},exp:2000000000})
  //   .setProtectedHeader({alg:"HS256",typ:"JWT"}).sign(TextEncoder.encode(kSecret))
  constexpr std::string_view kJose =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfSwiZXhwIjoyMDAwMDAwMDAwfQ."
      "6ubLh1HTloSXXlaGe0SIR_kjONiBgj4iCJX0L-JRkrI";
  auto token = sign_jwt(JwtAlgorithm::HS256, kSecret, R"({"mercure":{"publish":["*"]},"exp":2000000000})");
  ASSERT_TRUE(token) << token.error().reason;
  EXPECT_EQ(*token, kJose);
}

TEST(JwtSigner, WritesTheAlgAndTypHeaderAndTheClaimsAsGiven) {
  const std::string claims = R"({ "mercure" : {"subscribe": ["/a"]} })";
  auto token = sign_jwt(JwtAlgorithm::HS512, kSecret, claims);
  ASSERT_TRUE(token) << token.error().reason;
  EXPECT_EQ(base64url_decode(part(*token, 0)), R"({"alg":"HS512","typ":"JWT"})");
  EXPECT_EQ(base64url_decode(part(*token, 1)), claims);
  EXPECT_EQ(base64url_decode(part(*token, 2))->size(), 64U);
}

TEST(JwtSigner, RoundTripsEveryAlgorithmThroughTheVerifier) {
  const auto data = jwt_test::load_jwt_cases();
  // With MERCURE_JWT_SIGNED_OUT=FILE, also write the tokens for
  // `node scripts/gen-jwt-cases.mjs --verify-signed FILE` (jose checks our signatures).
  boost::json::array exported;
  int algorithms = 0;
  for (const auto& entry : data.keys) {
    const std::string name(entry.key());
    const auto& key = entry.value().as_object();
    if (name.ends_with("-other") || key.contains("format")) continue;
    const std::string alg_name = jwt_test::str(key.at("alg"));
    SCOPED_TRACE(alg_name);
    const auto alg = parse_jwt_algorithm(alg_name);
    ASSERT_TRUE(alg);
    const std::string signing_key =
        key.contains("secret") ? jwt_test::str(key.at("secret")) : jwt_test::str(key.at("private_pem"));
    const std::string claims = R"({"mercure":{"publish":["https://example.com/{id}"],"subscribe":["*"],)"
                               R"("payload":{"alg":")" +
                               alg_name + R"("}},"exp":)" + std::to_string(data.now + 60) + "}";
    auto token = sign_jwt(*alg, signing_key, claims);
    ASSERT_TRUE(token) << token.error().reason;
    EXPECT_EQ(base64url_decode(part(*token, 0)), R"({"alg":")" + alg_name + R"(","typ":"JWT"})");

    auto verifier = JwtVerifier::create(*alg, jwt_test::verifier_key(key));
    ASSERT_TRUE(verifier) << verifier.error().reason;
    auto verified = verifier->verify(*token, data.now);
    ASSERT_TRUE(verified) << verified.error().reason;
    EXPECT_EQ(verified->publish, std::vector<std::string>{"https://example.com/{id}"});
    EXPECT_EQ(verified->payload_json, R"({"alg":")" + alg_name + R"("})");
    EXPECT_EQ(verified->exp, data.now + 60);
    // A verifier holding the other key of the same algorithm refuses it.
    auto other = JwtVerifier::create(*alg, jwt_test::verifier_key(data.keys.at(name + "-other").as_object()));
    ASSERT_TRUE(other) << other.error().reason;
    EXPECT_FALSE(other->verify(*token, data.now));

    exported.push_back(boost::json::object{{"alg", alg_name}, {"key", jwt_test::verifier_key(key)}, {"token", *token}});
    ++algorithms;
  }
  EXPECT_EQ(algorithms, 13);
  if (const char* out = std::getenv("MERCURE_JWT_SIGNED_OUT")) {
    std::ofstream(out) << boost::json::serialize(boost::json::object{{"now", data.now}, {"tokens", exported}});
  }
}

TEST(JwtSigner, EmitsJoseSizedSignatures) {
  const auto data = jwt_test::load_jwt_cases();
  const std::pair<const char*, std::size_t> sizes[] = {{"HS256", 32},  {"HS384", 48},  {"HS512", 64},
                                                       {"RS256", 256}, {"PS512", 256}, {"ES256", 64},
                                                       {"ES384", 96},  {"ES512", 132}, {"EdDSA", 64}};
  for (const auto& [alg_name, size] : sizes) {
    SCOPED_TRACE(alg_name);
    const auto& key = data.keys.at(alg_name).as_object();
    const std::string signing_key =
        key.contains("secret") ? jwt_test::str(key.at("secret")) : jwt_test::str(key.at("private_pem"));
    // ECDSA signatures vary in DER length; sign a few times so a short R or S would show up.
    for (int i = 0; i < 8; ++i) {
      auto token = sign_jwt(*parse_jwt_algorithm(alg_name), signing_key, "{}");
      ASSERT_TRUE(token) << token.error().reason;
      EXPECT_EQ(base64url_decode(part(*token, 2))->size(), size);
    }
  }
}

TEST(JwtSigner, RefusesClaimsThatAreNotAJsonObject) {
  for (const char* claims : {"", "[]", "\"x\"", "{", "{\"a\":1} {}", "{\"a\":1,}"}) {
    SCOPED_TRACE(claims);
    auto token = sign_jwt(JwtAlgorithm::HS256, kSecret, claims);
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, Errc::bad_request);
  }
  auto dup = sign_jwt(JwtAlgorithm::HS256, kSecret, R"({"exp":1,"exp":2})");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().reason, "duplicate key \"exp\" in claims");
}

TEST(JwtSigner, RefusesKeysThatCannotSign) {
  const auto data = jwt_test::load_jwt_cases();
  const auto& rs = data.keys.at("RS256").as_object();
  const auto& es = data.keys.at("ES256").as_object();
  const std::tuple<JwtAlgorithm, std::string, std::string> cases[] = {
      {JwtAlgorithm::HS256, "", "HMAC secret is empty"},
      {JwtAlgorithm::HS256, jwt_test::str(rs.at("private_pem")), "looks like a PEM"},
      {JwtAlgorithm::RS256, jwt_test::str(rs.at("public_pem")), "RS256 key is not a PEM private key"},
      {JwtAlgorithm::RS256, std::string(kSecret), "RS256 key is not a PEM private key"},
      {JwtAlgorithm::ES384, jwt_test::str(es.at("private_pem")), "ES384 requires a P-384 key"},
      {JwtAlgorithm::EdDSA, jwt_test::str(rs.at("private_pem")), "EdDSA requires an Ed25519 or Ed448 key"},
  };
  for (const auto& [alg, key, reason] : cases) {
    SCOPED_TRACE(reason);
    auto token = sign_jwt(alg, key, "{}");
    ASSERT_FALSE(token);
    EXPECT_NE(token.error().reason.find(reason), std::string::npos) << token.error().reason;
  }
}

}  // namespace
}  // namespace mercure
