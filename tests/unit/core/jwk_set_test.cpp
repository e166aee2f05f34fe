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

TEST(JwkSet, EveryAsymmetricKeyWrittenByJoseIsReadForItsOwnAlgorithm) {
  const auto cases = load_jwk_cases();
  ASSERT_EQ(cases.keys.size(), 26U);
  int read = 0;
  for (const auto& [name, entry] : cases.keys) {
    SCOPED_TRACE(std::string(name));
    const auto& e = entry.as_object();
    auto set = parse_jwk_set(key_set_of({e.at("jwk")}));
    ASSERT_TRUE(set) << set.error().reason;
    if (std::string_view(name).starts_with("HS")) {
      // A published set must not hold secrets: whoever reads it could sign.
      ASSERT_TRUE(set->keys.empty());
      EXPECT_EQ(set->skipped.at(0),
                "key 1 (kid \"" + std::string(name) +
                    "\"): a symmetric (oct) key: whoever can read the key set could sign tokens with it");
      continue;
    }
    ASSERT_EQ(set->keys.size(), 1U);
    EXPECT_TRUE(set->skipped.empty()) << set->skipped.front();
    const Jwk& key = set->keys.front();
    EXPECT_EQ(key.kid, std::string(name));
    EXPECT_EQ(key.algorithms, std::vector{*parse_jwt_algorithm(e.at("alg").as_string())});
    EXPECT_NE(key.key, nullptr);
    ++read;
  }
  EXPECT_EQ(read, 20);
}

TEST(JwkSet, WithoutAlgAKeyMayVerifyWhatItsTypeAllows) {
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
  // RFC 9864's fully specified name for the same algorithm.
  const boost::json::value ed25519 = "Ed25519";
  const auto named = parse_jwk_set(key_set_of({jwk_with(jwk_of(cases, "EdDSA"), "alg", &ed25519)}));
  ASSERT_TRUE(named);
  EXPECT_EQ(named->keys.at(0).algorithms, std::vector{JwtAlgorithm::EdDSA});
}

TEST(JwkSet, PaddedMembersAndShortCoordinatesAreReadAsJoseAndKeyfuncRead) {
  const auto cases = load_jwk_cases();
  auto padded = jwk_of(cases, "RS256");
  const std::string n(padded.at("n").as_string());
  padded["n"] = n + std::string((4 - n.size() % 4) % 4, '=');
  padded["e"] = "AQAB==";  // not canonical padding even: what matters is the trailing '='
  const auto set = parse_jwk_set(key_set_of({padded, cases.short_x_jwk}));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->keys.size(), 2U) << (set->skipped.empty() ? "" : set->skipped.front());
  ASSERT_EQ(std::string(cases.short_x_jwk.at("x").as_string()).size(), 42U) << "31 bytes";
}

TEST(JwkSet, KeysThatCannotVerifyAreLeftOutWithTheirReasonAndTheRestIsKept) {
  const auto cases = load_jwk_cases();
  const boost::json::value enc = "enc";
  const boost::json::value sign_only = boost::json::array{"sign"};
  const boost::json::value sign_text = "sign";
  const boost::json::value es256 = "ES256";
  const boost::json::value number = 123;
  const boost::json::value secp256k1 = "secp256k1";
  const boost::json::value short_x = "AAAA";
  const boost::json::value not_base64 = "a+b/";
  const boost::json::value even_e = "AQAC";
  auto off_curve = jwk_of(cases, "ES256");
  {
    std::string y(off_curve.at("y").as_string());
    y[3] = y[3] == 'A' ? 'B' : 'A';
    off_curve["y"] = y;
  }
  const auto set = parse_jwk_set(key_set_of({
      jwk_with(jwk_with(jwk_of(cases, "RS256"), "kid", nullptr), "use", &enc),
      jwk_with(jwk_with(jwk_of(cases, "ES256"), "kid"), "key_ops", &sign_only),
      jwk_with(jwk_with(jwk_of(cases, "RS384"), "kid"), "alg", &es256),
      jwk_with(jwk_with(jwk_of(cases, "ES384"), "kid"), "crv", &secp256k1),
      jwk_with(jwk_with(jwk_of(cases, "EdDSA"), "kid"), "x", &short_x),
      jwk_with(jwk_with(jwk_of(cases, "RS512"), "kid"), "n", &not_base64),
      cases.small_rsa_jwk,
      boost::json::object{{"kty", "oct"}, {"k", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEy"}},
      jwk_with(jwk_with(jwk_of(cases, "PS512"), "kid"), "alg", &number),
      boost::json::object{{"kty", "RSA-PSS"}},
      boost::json::object{{"n", "AQAB"}},
      jwk_with(off_curve, "kid"),
      boost::json::value("not an object"),
      jwk_with(jwk_with(jwk_of(cases, "PS384"), "kid"), "key_ops", &sign_text),
      jwk_with(jwk_with(jwk_of(cases, "PS384"), "kid"), "e", &even_e),
      jwk_of(cases, "PS256"),
  }));
  ASSERT_TRUE(set) << set.error().reason;
  ASSERT_EQ(set->keys.size(), 1U);
  EXPECT_EQ(set->keys.front().kid, "PS256");
  ASSERT_EQ(set->skipped.size(), 15U);
  EXPECT_EQ(set->skipped[0], R"(key 1: "use" is "enc", not "sig")");
  EXPECT_EQ(set->skipped[1], R"(key 2: its "key_ops" do not include "verify")");
  EXPECT_EQ(set->not_for_signatures, 2U);
  EXPECT_EQ(set->skipped[2], R"(key 3: "alg" ES256 does not fit a key of type RSA)");
  EXPECT_EQ(set->skipped[3], R"(key 4: unsupported EC curve "secp256k1")");
  EXPECT_EQ(set->skipped[4], R"(key 5: "x" must be 32 bytes)");
  EXPECT_EQ(set->skipped[5], R"(key 6: "n" is not base64url)");
  EXPECT_EQ(set->skipped[6], "key 7: an RSA key of 1024 bits (at least 2048 are needed)");
  EXPECT_EQ(set->skipped[7], "key 8: a symmetric (oct) key: whoever can read the key set could sign tokens with it");
  EXPECT_EQ(set->skipped[8], R"(key 9: "alg" is not a string)") << "a wrong type disables, never widens";
  EXPECT_EQ(set->skipped[9], R"(key 10: unsupported "kty" "RSA-PSS")");
  EXPECT_EQ(set->skipped[10], R"(key 11: no "kty")");
  EXPECT_EQ(set->skipped[11], "key 12: not a valid EC public key") << "a point off the curve";
  EXPECT_EQ(set->skipped[12], "key 13: not a JSON object");
  EXPECT_EQ(set->skipped[13], R"(key 14: "key_ops" is not an array)");
  EXPECT_EQ(set->skipped[14], "key 15: an RSA public exponent that is even or longer than 32 bits");
}

TEST(JwkSet, EncryptionKeysOfAProvidersSetAreCountedApart) {
  const auto cases = load_jwk_cases();
  const boost::json::value oaep = "RSA-OAEP-256";
  const boost::json::value ecdh = "ECDH-ES+A256KW";
  const boost::json::value bogus = "XS256";
  const auto set = parse_jwk_set(key_set_of({jwk_with(jwk_with(jwk_of(cases, "RS256"), "use"), "alg", &oaep),
                                             jwk_with(jwk_with(jwk_of(cases, "ES256"), "use"), "alg", &ecdh),
                                             jwk_with(jwk_of(cases, "ES384"), "alg", &bogus)}));
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->keys.empty());
  EXPECT_EQ(set->not_for_signatures, 2U);
  EXPECT_EQ(set->skipped.at(0), R"(key 1 (kid "RS256"): "alg" "RSA-OAEP-256" is an encryption algorithm)");
  EXPECT_EQ(set->skipped.at(2), R"(key 3 (kid "ES384"): unsupported "alg" "XS256")");
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
