#include "core/jwk_set.hpp"

#include "core/base64url.hpp"

#include "jwk_cases.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mercure {
namespace {

using jwk_test::jwk_with;
using jwk_test::key_set_of;
using jwk_test::load_jwk_cases;

boost::json::object jwk_of(const jwk_test::JwkCases& cases, const char* name) {
  return cases.keys.at(name).as_object().at("jwk").as_object();
}

// The one line of `skipped` that mentions `needle`, or "" (with a failure) when none does.
std::string skipped_line(const JwkSet& set, std::string_view needle) {
  for (const auto& line : set.skipped) {
    if (line.find(needle) != std::string::npos) return line;
  }
  ADD_FAILURE() << "no skipped key mentions " << needle;
  return "";
}

TEST(JwkSet, EveryKeyWrittenByJoseIsReadForItsOwnAlgorithm) {
  const auto cases = load_jwk_cases();
  ASSERT_EQ(cases.keys.size(), 26U);
  for (const auto& [name, entry] : cases.keys) {
    SCOPED_TRACE(std::string(name));
    const auto& e = entry.as_object();
    auto set = parse_jwk_set(key_set_of({e.at("jwk")}));
    ASSERT_TRUE(set) << set.error().reason;
    ASSERT_EQ(set->keys.size(), 1U);
    EXPECT_TRUE(set->skipped.empty()) << set->skipped.front();
    const Jwk& key = set->keys.front();
    EXPECT_EQ(key.kid, std::string(name));
    EXPECT_EQ(key.algorithms, std::vector{*parse_jwt_algorithm(e.at("alg").as_string())});
    EXPECT_EQ(key.key == nullptr, !key.secret.empty()) << "an asymmetric key, or an HMAC secret";
  }
}

TEST(JwkSet, WithoutAlgAKeyMayVerifyWhatItsTypeAndSizeAllow) {
  const auto cases = load_jwk_cases();
  const auto rsa = parse_jwk_set(key_set_of({jwk_with(jwk_of(cases, "RS256"), "alg")}));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->keys.at(0).algorithms, (std::vector{JwtAlgorithm::RS256, JwtAlgorithm::RS384, JwtAlgorithm::RS512,
                                                     JwtAlgorithm::PS256, JwtAlgorithm::PS384, JwtAlgorithm::PS512}));
  const auto ec = parse_jwk_set(key_set_of({jwk_with(jwk_of(cases, "ES384"), "alg")}));
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->keys.at(0).algorithms, std::vector{JwtAlgorithm::ES384});
  const auto ed = parse_jwk_set(key_set_of({jwk_with(jwk_of(cases, "EdDSA"), "alg")}));
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->keys.at(0).algorithms, std::vector{JwtAlgorithm::EdDSA});
  // 40 bytes: long enough for HS256 only (RFC 7518 section 3.2: at least the hash size).
  const auto oct =
      parse_jwk_set(R"({"keys":[{"kty":"oct","k":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OQ"}]})");
  ASSERT_TRUE(oct);
  EXPECT_EQ(oct->keys.at(0).algorithms, std::vector{JwtAlgorithm::HS256});
}

TEST(JwkSet, KeysThatCannotVerifyAreLeftOutWithTheirReasonAndTheRestIsKept) {
  const auto cases = load_jwk_cases();
  const boost::json::value enc = "enc";
  const boost::json::value sign_only = boost::json::array{"sign"};
  const boost::json::value es256 = "ES256";
  const boost::json::value hs512 = "HS512";
  const boost::json::value secp256k1 = "secp256k1";
  const boost::json::value short_x = "AAAA";
  const boost::json::value not_base64 = "a+b/";
  auto off_curve = jwk_of(cases, "ES256");
  {
    std::string y(off_curve.at("y").as_string());
    y[3] = y[3] == 'A' ? 'B' : 'A';
    off_curve["y"] = y;
  }
  // A 1024-bit modulus (odd, top bit set): readable, but under the 2048 bits RS256 needs.
  std::string modulus(128, '\xab');
  modulus.front() = '\xc1';
  modulus.back() = '\x01';
  const std::string small_n = base64url_encode(modulus);
  const auto set = parse_jwk_set(key_set_of({
      jwk_with(jwk_with(jwk_of(cases, "RS256"), "kid", nullptr), "use", &enc),
      jwk_with(jwk_with(jwk_of(cases, "ES256"), "kid"), "key_ops", &sign_only),
      jwk_with(jwk_with(jwk_of(cases, "RS384"), "kid"), "alg", &es256),
      jwk_with(jwk_with(jwk_of(cases, "ES384"), "kid"), "crv", &secp256k1),
      jwk_with(jwk_with(jwk_of(cases, "EdDSA"), "kid"), "x", &short_x),
      jwk_with(jwk_with(jwk_of(cases, "RS512"), "kid"), "n", &not_base64),
      boost::json::object{{"kty", "RSA"}, {"n", small_n}, {"e", "AQAB"}, {"alg", "RS256"}},
      boost::json::object{{"kty", "oct"}, {"k", "c2hvcnQ"}},
      boost::json::object{{"kty", "oct"}, {"k", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEy"}, {"alg", hs512}},
      boost::json::object{{"kty", "RSA-PSS"}},
      boost::json::object{{"n", "AQAB"}},
      jwk_with(off_curve, "kid"),
      boost::json::value("not an object"),
      jwk_of(cases, "PS256"),
  }));
  ASSERT_TRUE(set) << set.error().reason;
  ASSERT_EQ(set->keys.size(), 1U);
  EXPECT_EQ(set->keys.front().kid, "PS256");
  ASSERT_EQ(set->skipped.size(), 13U);
  EXPECT_EQ(set->skipped[0], R"(key 1: "use" is "enc", not "sig")");
  EXPECT_EQ(set->skipped[1], R"(key 2: its "key_ops" do not include "verify")");
  EXPECT_EQ(set->skipped[2], R"(key 3: "alg" ES256 does not fit a key of type RSA)");
  EXPECT_EQ(set->skipped[3], R"(key 4: unsupported EC curve "secp256k1")");
  EXPECT_EQ(set->skipped[4], R"(key 5: "x" must be 32 bytes)");
  EXPECT_EQ(set->skipped[5], R"(key 6: "n" is not base64url)");
  EXPECT_NE(set->skipped[6].find("key 7: "), std::string::npos);
  EXPECT_NE(set->skipped[6].find("2048"), std::string::npos) << set->skipped[6];
  EXPECT_EQ(set->skipped[7], "key 8: an HMAC secret shorter than 32 bytes (RFC 7518 section 3.2)");
  EXPECT_EQ(set->skipped[8], "key 9: an HMAC secret shorter than 64 bytes for HS512");
  EXPECT_EQ(set->skipped[9], R"(key 10: unsupported "kty" "RSA-PSS")");
  EXPECT_EQ(set->skipped[10], R"(key 11: no "kty")");
  EXPECT_NE(skipped_line(*set, "key 12: ").find("valid"), std::string::npos) << "a point off the curve";
  EXPECT_EQ(set->skipped[12], "key 13: not a JSON object");
}

TEST(JwkSet, KidsAreNamedInTheSkippedLines) {
  const auto set = parse_jwk_set(R"({"keys":[{"kty":"nope","kid":"rotated-2026"}]})");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->skipped.at(0), R"(key 1 (kid "rotated-2026"): unsupported "kty" "nope")");
}

TEST(JwkSet, ADocumentThatIsNotAKeySetIsAnError) {
  for (const char* text : {"", "[]", "{}", R"({"keys":3})", R"({"keys":[]} x)", R"({"keys":[],"keys":[]})", "null"}) {
    SCOPED_TRACE(text);
    auto set = parse_jwk_set(text);
    ASSERT_FALSE(set);
    EXPECT_EQ(set.error().code, Errc::bad_request);
    EXPECT_EQ(set.error().reason.rfind("not a JSON Web Key Set", 0), 0U) << set.error().reason;
  }
  const auto empty = parse_jwk_set(R"({"keys":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->keys.empty());
}

}  // namespace
}  // namespace mercure
