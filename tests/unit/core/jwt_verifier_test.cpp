#include "core/jwt_verifier.hpp"

#include "core/base64url.hpp"
#include "core/jwt_signer.hpp"
#include "jwt_cases.hpp"
#include "jwt_parts.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <boost/json.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace mercure {
namespace {

using jwt_test::kSecret;
constexpr std::int64_t kNow = 1'700'000'000;

// --- helpers ----------------------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  return bio_text(bio.get());
}

std::string public_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  return bio_text(bio.get());
}

Pkey rsa_key(std::size_t bits) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}
Pkey ec_key(const char* curve) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}
Pkey ed_key(const char* type) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

// An HS256 token over arbitrary header and payload texts (which our signer refuses to produce).
std::string raw_hs256(std::string_view header_json, std::string_view payload_json, std::string_view secret = kSecret) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string hs256(std::string_view claims_json) {
  auto token = sign_jwt(JwtAlgorithm::HS256, kSecret, claims_json);
  EXPECT_TRUE(token.has_value()) << token.error().reason;
  return token.has_value() ? *token : std::string();
}

JwtVerifier hs256_verifier() {
  return JwtVerifier::create(JwtAlgorithm::HS256, kSecret).value();
}

// Asserts a rejection (401) whose reason contains `expected`.
void expect_rejected(const Result<Claims>& r, std::string_view expected) {
  ASSERT_FALSE(r.has_value()) << "accepted, expected rejection containing: " << expected;
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_NE(r.error().reason.find(expected), std::string::npos) << "reason: " << r.error().reason;
}

std::string replace_part(const std::string& token, int index, std::string_view part) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  std::string parts[3] = {token.substr(0, first), token.substr(first + 1, second - first - 1),
                          token.substr(second + 1)};
  parts[index] = part;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

using jwt_test::part;

// --- the jose-minted corpus -------------------------------------------------------------------

void expect_claims(const Claims& actual, const boost::json::object& expected) {
  for (const char* name : {"publish", "subscribe"}) {
    const auto& got = std::string_view(name) == "publish" ? actual.publish : actual.subscribe;
    if (const auto* want = expected.if_contains(name)) {
      ASSERT_TRUE(got.has_value()) << name;
      std::vector<std::string> w;
      for (const auto& s : want->as_array()) w.push_back(jwt_test::str(s));
      EXPECT_EQ(*got, w) << name;
    } else {
      EXPECT_FALSE(got.has_value()) << name;
    }
  }
  if (const auto* want = expected.if_contains("payload")) {
    ASSERT_TRUE(actual.payload_json.has_value());
    EXPECT_EQ(boost::json::parse(*actual.payload_json), *want);
  } else {
    EXPECT_FALSE(actual.payload_json.has_value());
  }
  const std::pair<const char*, const std::optional<std::int64_t>*> times[] = {
      {"exp", &actual.exp}, {"nbf", &actual.nbf}, {"iat", &actual.iat}};
  for (const auto& [name, got] : times) {
    if (const auto* want = expected.if_contains(name)) {
      ASSERT_TRUE(got->has_value()) << name;
      EXPECT_EQ(**got, want->to_number<std::int64_t>()) << name;
    } else {
      EXPECT_FALSE(got->has_value()) << name;
    }
  }
}

TEST(JwtVerifier, AgreesWithJoseOnEveryGeneratedCase) {
  const auto data = jwt_test::load_jwt_cases();
  ASSERT_GE(data.cases.size(), 150U);
  std::set<std::string> valid_algorithms;
  std::set<std::string> names;
  for (const auto& item : data.cases) {
    const auto& c = item.as_object();
    const std::string name = jwt_test::str(c.at("name"));
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "duplicate case name";
    const std::string alg_name = jwt_test::str(c.at("alg_configured"));
    const auto alg = parse_jwt_algorithm(alg_name);
    ASSERT_TRUE(alg.has_value());
    const bool valid = c.at("valid").as_bool();
    const std::string reason =
        c.contains("expect_reason_contains") ? jwt_test::str(c.at("expect_reason_contains")) : "";

    auto verifier =
        JwtVerifier::create(*alg, jwt_test::verifier_key(data.keys.at(jwt_test::str(c.at("key"))).as_object()));
    if (!verifier) {
      EXPECT_FALSE(valid) << "key refused: " << verifier.error().reason;
      EXPECT_NE(verifier.error().reason.find(reason), std::string::npos) << verifier.error().reason;
      continue;
    }
    auto claims = verifier->verify(jwt_test::str(c.at("token")), data.now);
    if (valid) {
      ASSERT_TRUE(claims.has_value()) << claims.error().reason;
      expect_claims(*claims, c.at("claims").as_object());
      valid_algorithms.insert(alg_name);
    } else {
      expect_rejected(claims, reason);
    }
  }
  EXPECT_EQ(valid_algorithms.size(), 13U) << "every algorithm needs an accepted token";
}

// --- structure --------------------------------------------------------------------------------

TEST(JwtVerifier, AcceptsOurOwnHs256Token) {
  auto claims = hs256_verifier().verify(hs256(R"({"mercure":{"publish":["*"],"subscribe":["/a"]}})"), kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().reason;
  EXPECT_EQ(claims->publish, std::vector<std::string>{"*"});
  EXPECT_EQ(claims->subscribe, std::vector<std::string>{"/a"});
}

TEST(JwtVerifier, RequiresExactlyThreeParts) {
  const auto v = hs256_verifier();
  const std::string token = hs256(R"({"mercure":{}})");
  expect_rejected(v.verify("", kNow), "expected 3 dot-separated parts, got 1");
  expect_rejected(v.verify("abc", kNow), "expected 3 dot-separated parts, got 1");
  expect_rejected(v.verify(part(token, 0) + "." + part(token, 1), kNow), "expected 3 dot-separated parts, got 2");
  expect_rejected(v.verify(token + ".", kNow), "expected 3 dot-separated parts, got 4");
  expect_rejected(v.verify("a.b.c.d.e", kNow), "expected 3 dot-separated parts, got 5");  // a JWE
  expect_rejected(v.verify("..", kNow), "empty header");
}

TEST(JwtVerifier, RejectsAnEmptySignature) {
  const auto v = hs256_verifier();
  const std::string token = hs256(R"({"mercure":{"publish":["*"]}})");
  expect_rejected(v.verify(replace_part(token, 2, ""), kNow), "empty signature");
}

TEST(JwtVerifier, RejectsASignatureOfTheWrongLength) {
  const auto v = hs256_verifier();
  const std::string token = hs256(R"({"mercure":{"publish":["*"]}})");
  auto sig = base64url_decode(part(token, 2)).value();
  expect_rejected(v.verify(replace_part(token, 2, base64url_encode(sig.substr(0, 31))), kNow),
                  "signature has wrong length (31 bytes, expected 32)");
  expect_rejected(v.verify(replace_part(token, 2, base64url_encode(sig + "x")), kNow), "signature has wrong length");
}

TEST(JwtVerifier, RejectsBadBase64InEachPart) {
  const auto v = hs256_verifier();
  const std::string token = hs256(R"({"mercure":{"publish":["*"]}})");
  const char* names[] = {"header", "payload", "signature"};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(names[i]);
    const std::string p = part(token, i);
    const std::string expected = std::string("bad base64 in ") + names[i];
    expect_rejected(v.verify(replace_part(token, i, p + "="), kNow), expected);            // padding
    expect_rejected(v.verify(replace_part(token, i, "+" + p.substr(1)), kNow), expected);  // standard alphabet
    expect_rejected(v.verify(replace_part(token, i, "/" + p.substr(1)), kNow), expected);  // standard alphabet
    expect_rejected(v.verify(replace_part(token, i, p.substr(0, 4) + " " + p.substr(4)), kNow), expected);
  }
  // Non-canonical trailing bits: the same bytes, a different encoding.
  const std::string sig = part(token, 2);  // 43 chars for 32 bytes: the last char carries 2 unused bits
  std::string altered = sig;
  altered.back() = altered.back() == 'A' ? 'B' : static_cast<char>(altered.back() + 1);
  expect_rejected(v.verify(replace_part(token, 2, altered), kNow), "bad base64 in signature");
}

TEST(JwtVerifier, RejectsTokensOverSixtyFourKibibytesBeforeDecoding) {
  const auto v = hs256_verifier();
  expect_rejected(v.verify(std::string(JwtVerifier::kMaxTokenSize + 1, '!'), kNow), "larger than 65536 bytes");

  // A genuine token just under the limit is accepted; grown past it, rejected.
  std::string padding;
  std::string token;
  while (token.size() <= JwtVerifier::kMaxTokenSize - 4) {
    padding.append(token.empty() ? 48000 : 1, 'x');
    token = hs256(R"({"mercure":{"publish":["*"]},"pad":")" + padding + "\"}");
  }
  ASSERT_LE(token.size(), JwtVerifier::kMaxTokenSize);
  EXPECT_TRUE(v.verify(token, kNow).has_value());
  padding.append(3, 'x');
  expect_rejected(v.verify(hs256(R"({"mercure":{"publish":["*"]},"pad":")" + padding + "\"}"), kNow), "larger than");
}

TEST(JwtVerifier, RejectsHeadersThatAreNotObjectsWithAStringAlg) {
  const auto v = hs256_verifier();
  const std::string payload = R"({"mercure":{"publish":["*"]}})";
  expect_rejected(v.verify(raw_hs256("not json", payload), kNow), "header is not valid JSON");
  expect_rejected(v.verify(raw_hs256(R"(["HS256"])", payload), kNow), "header is not a JSON object");
  expect_rejected(v.verify(raw_hs256(R"({"typ":"JWT"})", payload), kNow), "header has no alg");
  expect_rejected(v.verify(raw_hs256(R"({"alg":256})", payload), kNow), "header alg is not a string");
  expect_rejected(v.verify(raw_hs256(R"({"alg":null})", payload), kNow), "header alg is not a string");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"hs256"})", payload), kNow),
                  "algorithm hs256 not allowed (expected HS256)");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256 "})", payload), kNow), "algorithm HS256  not allowed");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"none"})", payload), kNow), "unsecured token (alg none) not allowed");
  expect_rejected(v.verify(raw_hs256("{\"alg\":\"HS256\"} x", payload), kNow), "header is not valid JSON");
  expect_rejected(v.verify(raw_hs256("{\"alg\":\"HS256\",}", payload), kNow), "header is not valid JSON");
  expect_rejected(v.verify(raw_hs256("{\"alg\":\"HS256\"/*c*/}", payload), kNow), "header is not valid JSON");
}

TEST(JwtVerifier, RejectsNoneEvenWithASignature) {
  const auto v = hs256_verifier();
  expect_rejected(v.verify(raw_hs256(R"({"alg":"none"})", R"({})"), kNow), "alg none");
  expect_rejected(v.verify(base64url_encode(R"({"alg":"none"})") + "." + base64url_encode("{}") + ".", kNow),
                  "alg none");
}

TEST(JwtVerifier, IgnoresKeyLocatingHeaders) {
  const auto v = hs256_verifier();
  const std::string header =
      R"({"alg":"HS256","typ":"whatever","kid":"../../etc/passwd","jku":"http://127.0.0.1:1/jwks",)"
      R"("x5u":"http://127.0.0.1:1/cert","x5c":["AAAA"],"jwk":{"kty":"oct","k":"YXR0YWNrZXI"},"cty":"JWT"})";
  auto claims = v.verify(raw_hs256(header, R"({"mercure":{"publish":["/a"]}})"), kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().reason;
  EXPECT_EQ(claims->publish, std::vector<std::string>{"/a"});
  // ... and a token signed with the key its jwk header carries is still checked against ours.
  expect_rejected(v.verify(raw_hs256(header, R"({"mercure":{"publish":["*"]}})", "attacker"), kNow),
                  "signature mismatch");
}

TEST(JwtVerifier, RejectsCriticalHeaderExtensions) {
  const auto v = hs256_verifier();
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256","b64":false,"crit":["b64"]})", "{}"), kNow),
                  "header crit is not supported");
}

TEST(JwtVerifier, RejectsDuplicateKeys) {
  const auto v = hs256_verifier();
  const std::string ok_payload = R"({"mercure":{"publish":["*"]}})";
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256","alg":"none"})", ok_payload), kNow),
                  "duplicate key \"alg\" in header");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256","typ":"JWT","typ":"JWT"})", ok_payload), kNow),
                  "duplicate key \"typ\" in header");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"exp":1,"exp":2000000000})"), kNow),
                  "duplicate key \"exp\" in payload");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{"publish":[],"publish":["*"]}})"), kNow),
                  "duplicate key \"publish\" in payload");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{},"mercure":{"publish":["*"]}})"), kNow),
                  "duplicate key \"mercure\" in payload");
  // Escapes are decoded before comparing: "\u0065xp" is "exp".
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"exp":2000000000,"\u0065xp":1})"), kNow),
                  "duplicate key \"exp\" in payload");
  // Deep inside the payload too: a duplicate anywhere makes the document ambiguous.
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{"payload":{"a":[{"b":1,"b":2}]}}})"), kNow),
                  "duplicate key \"b\" in payload");
  // The same key in sibling objects is not a duplicate.
  auto claims = v.verify(
      raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{"payload":{"a":{"x":1},"b":{"x":2}}},"x":{"x":{"x":3}}})"), kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().reason;
  EXPECT_EQ(claims->payload_json, R"({"a":{"x":1},"b":{"x":2}})");
}

TEST(JwtVerifier, RejectsPayloadsThatAreNotJsonObjects) {
  const auto v = hs256_verifier();
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", ""), kNow), "payload is not valid JSON");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", "[1]"), kNow), "payload is not a JSON object");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", "\"x\""), kNow), "payload is not a JSON object");
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", "{\"a\":\"\xff\"}"), kNow), "payload is not valid JSON");
  std::string deep(100, '[');
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"a":)" + deep), kNow), "payload is not valid JSON");
}

// --- claim types ------------------------------------------------------------------------------

TEST(JwtVerifier, RejectsMercureClaimsOfTheWrongJsonType) {
  const auto v = hs256_verifier();
  const std::pair<const char*, const char*> cases[] = {
      {R"({"mercure":"*"})", "claim mercure is not an object"},
      {R"({"mercure":["*"]})", "claim mercure is not an object"},
      {R"({"mercure":true})", "claim mercure is not an object"},
      {R"({"https://mercure.rocks/":1})", "claim https://mercure.rocks/ is not an object"},
      {R"({"mercure":{"publish":"*"}})", "claim mercure.publish is not an array of strings"},
      {R"({"mercure":{"publish":{"0":"*"}}})", "claim mercure.publish is not an array of strings"},
      {R"({"mercure":{"publish":["*",1]}})", "claim mercure.publish is not an array of strings"},
      {R"({"mercure":{"publish":[null]}})", "claim mercure.publish is not an array of strings"},
      {R"({"mercure":{"publish":[["*"]]}})", "claim mercure.publish is not an array of strings"},
      {R"({"mercure":{"subscribe":"*"}})", "claim mercure.subscribe is not an array of strings"},
      {R"({"mercure":{"subscribe":[true]}})", "claim mercure.subscribe is not an array of strings"},
      {R"({"https://mercure.rocks/":{"subscribe":42}})",
       "claim https://mercure.rocks/.subscribe is not an array of strings"},
  };
  for (const auto& [payload, reason] : cases) {
    SCOPED_TRACE(payload);
    expect_rejected(v.verify(hs256(payload), kNow), reason);
  }
}

TEST(JwtVerifier, RejectsTimeClaimsThatAreNotNumbers) {
  const auto v = hs256_verifier();
  const std::pair<const char*, const char*> cases[] = {
      {R"({"exp":"2000000000"})", "claim exp is not a number"},
      {R"({"exp":true})", "claim exp is not a number"},
      {R"({"exp":[2000000000]})", "claim exp is not a number"},
      {R"({"nbf":{}})", "claim nbf is not a number"},
      {R"({"iat":"2020-01-01"})", "claim iat is not a number"},
      {R"({"exp":18446744073709551615})", "claim exp is out of range"},
      {R"({"nbf":-1e300})", "claim nbf is out of range"},
      {R"({"iat":9.3e18})", "claim iat is out of range"},
  };
  for (const auto& [payload, reason] : cases) {
    SCOPED_TRACE(payload);
    expect_rejected(v.verify(hs256(payload), kNow), reason);
  }
}

// Found by fuzz/jwt_verify: Boost.JSON reads 1e400 as an infinity and serializes it as
// `Infinity`, so a payload claim holding one became invalid JSON in the subscription events and
// the subscription API. Such numbers are refused when the token is parsed.
TEST(JwtVerifier, RejectsNumbersBeyondTheDoubleRange) {
  const auto v = hs256_verifier();
  const char* payloads[] = {
      R"({"exp":1e400})",
      R"({"mercure":{"subscribe":["*"],"payload":{"n":-1e3087}}})",
      R"({"mercure":{"subscribe":["*"],"payload":[1E+999]}})",
  };
  for (const char* payload : payloads) {
    SCOPED_TRACE(payload);
    const auto r = v.verify(raw_hs256(R"({"alg":"HS256"})", payload), kNow);
    expect_rejected(r, "payload has a number out of range");
    if (!r) {
      EXPECT_EQ(r.error().check, kJwtCheckFormat);
    }
  }
  // The largest finite doubles are still numbers.
  const auto largest = raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{"payload":[1.7976931348623157e308,-4.9e-324]}})");
  auto ok = v.verify(largest, kNow);
  ASSERT_TRUE(ok.has_value()) << ok.error().reason;
  EXPECT_EQ(ok->payload_json->find("Infinity"), std::string::npos);
}

TEST(JwtVerifier, TreatsNullClaimsAsAbsent) {
  auto claims = hs256_verifier().verify(
      hs256(R"({"exp":null,"nbf":null,"iat":null,"mercure":{"publish":null,"subscribe":null,"payload":null}})"), kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().reason;
  EXPECT_FALSE(claims->exp || claims->nbf || claims->iat || claims->publish || claims->subscribe ||
               claims->payload_json);
}

TEST(JwtVerifier, PrefersTheMercureNamespaceOverTheUri) {
  const auto v = hs256_verifier();
  auto both = v.verify(hs256(R"({"https://mercure.rocks/":{"publish":["*"]},"mercure":{"publish":["/a"]}})"), kNow);
  ASSERT_TRUE(both.has_value()) << both.error().reason;
  EXPECT_EQ(both->publish, std::vector<std::string>{"/a"});
  // The ignored namespace is not inspected.
  auto bad_ignored = v.verify(hs256(R"({"https://mercure.rocks/":"junk","mercure":{"subscribe":[]}})"), kNow);
  ASSERT_TRUE(bad_ignored.has_value()) << bad_ignored.error().reason;
  EXPECT_EQ(bad_ignored->subscribe, std::vector<std::string>{});
  EXPECT_FALSE(bad_ignored->publish);
  auto uri_only = v.verify(hs256(R"({"https://mercure.rocks/":{"subscribe":["/b"],"payload":[1,"x"]}})"), kNow);
  ASSERT_TRUE(uri_only.has_value()) << uri_only.error().reason;
  EXPECT_EQ(uri_only->subscribe, std::vector<std::string>{"/b"});
  EXPECT_EQ(uri_only->payload_json, R"([1,"x"])");
}

TEST(JwtVerifier, KeepsAnyPayloadAsCompactJson) {
  const auto v = hs256_verifier();
  for (const char* payload : {R"("text")", "42", "true", R"({"a":[1,2,{"b":"\u00e9"}]})"}) {
    SCOPED_TRACE(payload);
    auto claims = v.verify(hs256(std::string(R"({"mercure":{"payload":)") + payload + "}}"), kNow);
    ASSERT_TRUE(claims.has_value()) << claims.error().reason;
    ASSERT_TRUE(claims->payload_json);
    EXPECT_EQ(boost::json::parse(*claims->payload_json), boost::json::parse(payload));
  }
}

// --- time -------------------------------------------------------------------------------------

TEST(JwtVerifier, EnforcesExpAndNbfWithoutLeewayAndIatWithAMinute) {
  const auto v = hs256_verifier();
  const std::string future = hs256(R"({"exp":1800000100,"iat":1700000050})");
  expect_rejected(v.verify(future, 1'699'999'989), "token issued in the future (iat)");
  // Minted by a server whose clock is up to a minute ahead of the hub's.
  EXPECT_TRUE(v.verify(future, 1'699'999'990).has_value());
  EXPECT_TRUE(v.verify(future, 1'700'000'049).has_value());
  EXPECT_TRUE(v.verify(future, 1'700'000'050).has_value());
  const std::string token = hs256(R"({"exp":1700000100,"nbf":1700000000,"iat":1690000000})");
  expect_rejected(v.verify(token, 1'699'999'999), "token not valid yet");
  EXPECT_TRUE(v.verify(token, 1'700'000'000).has_value());
  EXPECT_TRUE(v.verify(token, 1'700'000'099).has_value());
  expect_rejected(v.verify(token, 1'700'000'100), "token expired");
  expect_rejected(v.verify(token, 1'800'000'000), "token expired");
}

TEST(JwtVerifier, AcceptsIntegralAndFractionalDoublesWithoutWideningTheWindow) {
  const auto v = hs256_verifier();
  auto claims = v.verify(hs256(R"({"exp":1.7000001e9,"nbf":1.7e9,"iat":1.7e9})"), kNow);
  ASSERT_TRUE(claims.has_value()) << claims.error().reason;
  EXPECT_EQ(claims->exp, 1'700'000'100);
  EXPECT_EQ(claims->nbf, 1'700'000'000);
  EXPECT_EQ(claims->iat, 1'700'000'000);

  const std::string fractional = hs256(R"({"exp":1700000100.5,"nbf":1700000000.5,"iat":1700000000.9})");
  expect_rejected(v.verify(fractional, 1'700'000'000), "token not valid yet");  // nbf rounds up
  auto inside = v.verify(fractional, 1'700'000'001);
  ASSERT_TRUE(inside.has_value()) << inside.error().reason;
  EXPECT_EQ(inside->exp, 1'700'000'100);  // exp rounds down
  EXPECT_EQ(inside->nbf, 1'700'000'001);
  EXPECT_EQ(inside->iat, 1'700'000'000);
  expect_rejected(v.verify(fractional, 1'700'000'100), "token expired");
}

TEST(JwtVerifier, AcceptsNegativeAndZeroTimes) {
  const auto v = hs256_verifier();
  expect_rejected(v.verify(hs256(R"({"exp":0})"), kNow), "token expired");
  expect_rejected(v.verify(hs256(R"({"exp":-5})"), kNow), "token expired");
  EXPECT_TRUE(v.verify(hs256(R"({"nbf":-5,"iat":0})"), kNow).has_value());
}

// --- keys and algorithms ----------------------------------------------------------------------

TEST(JwtVerifier, RefusesUnsafeHmacSecrets) {
  auto empty = JwtVerifier::create(JwtAlgorithm::HS256, "");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().reason.find("HMAC secret is empty"), std::string::npos);
  auto key = ec_key("P-256");
  auto pem = JwtVerifier::create(JwtAlgorithm::HS384, public_pem(key.get()));
  ASSERT_FALSE(pem);
  EXPECT_NE(pem.error().reason.find("looks like a PEM"), std::string::npos);
}

TEST(JwtVerifier, RefusesRsaKeysUnder2048Bits) {
  auto small = rsa_key(1024);
  for (auto alg : {JwtAlgorithm::RS256, JwtAlgorithm::PS512}) {
    auto v = JwtVerifier::create(alg, public_pem(small.get()));
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().reason, "RSA key has 1024 bits; at least 2048 are required");
  }
  auto signed_token = sign_jwt(JwtAlgorithm::RS256, private_pem(small.get()), "{}");
  ASSERT_FALSE(signed_token);
  EXPECT_NE(signed_token.error().reason.find("at least 2048"), std::string::npos);
}

TEST(JwtVerifier, RefusesKeysOfTheWrongTypeOrCurve) {
  auto p256 = ec_key("P-256");
  auto p384 = ec_key("P-384");
  auto rsa = rsa_key(2048);
  auto ed = ed_key("ED25519");
  const std::tuple<JwtAlgorithm, std::string, std::string> cases[] = {
      {JwtAlgorithm::ES256, public_pem(p384.get()), "ES256 requires a P-256 key, got curve P-384"},
      {JwtAlgorithm::ES512, public_pem(p256.get()), "ES512 requires a P-521 key"},
      {JwtAlgorithm::ES256, public_pem(rsa.get()), "ES256 requires an EC key, got RSA"},
      {JwtAlgorithm::RS256, public_pem(p256.get()), "RS256 requires an RSA key, got EC"},
      {JwtAlgorithm::PS256, public_pem(ed.get()), "PS256 requires an RSA key, got ED25519"},
      {JwtAlgorithm::EdDSA, public_pem(rsa.get()), "EdDSA requires an Ed25519 or Ed448 key, got RSA"},
      {JwtAlgorithm::RS256, std::string(kSecret), "RS256 key is not a PEM public key, certificate or private key"},
      {JwtAlgorithm::ES256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "ES256 key is not a PEM"},
      {JwtAlgorithm::EdDSA, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
       "not a readable PEM certificate"},
  };
  for (const auto& [alg, key, reason] : cases) {
    SCOPED_TRACE(reason);
    auto v = JwtVerifier::create(alg, key);
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().reason.find(reason), std::string::npos) << v.error().reason;
  }
}

TEST(JwtVerifier, RefusesEncryptedPrivateKeysWithoutPrompting) {
  auto key = ec_key("P-256");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  static char kPass[] = "passphrase";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_128_cbc(), kPass, 10, nullptr, nullptr), 1);
  auto v = JwtVerifier::create(JwtAlgorithm::ES256, bio_text(bio.get()));
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().reason.find("encrypted PEM private keys are not supported"), std::string::npos);
}

TEST(JwtVerifier, VerifiesEd448AsEdDsa) {
  auto key = ed_key("ED448");
  auto token = sign_jwt(JwtAlgorithm::EdDSA, private_pem(key.get()), R"({"mercure":{"publish":["*"]}})");
  ASSERT_TRUE(token) << token.error().reason;
  EXPECT_EQ(base64url_decode(part(*token, 2))->size(), 114U);
  auto v = JwtVerifier::create(JwtAlgorithm::EdDSA, public_pem(key.get()));
  ASSERT_TRUE(v) << v.error().reason;
  EXPECT_TRUE(v->verify(*token, kNow).has_value());
}

TEST(JwtVerifier, RequiresRawEcdsaSignaturesOfTheCurveSize) {
  const std::pair<JwtAlgorithm, const char*> curves[] = {
      {JwtAlgorithm::ES256, "P-256"}, {JwtAlgorithm::ES384, "P-384"}, {JwtAlgorithm::ES512, "P-521"}};
  for (const auto& [alg, curve] : curves) {
    SCOPED_TRACE(curve);
    auto key = ec_key(curve);
    auto v = JwtVerifier::create(alg, public_pem(key.get())).value();
    const std::string token = sign_jwt(alg, private_pem(key.get()), "{}").value();
    const std::string sig = base64url_decode(part(token, 2)).value();
    EXPECT_TRUE(v.verify(token, kNow).has_value());
    expect_rejected(v.verify(replace_part(token, 2, base64url_encode(sig.substr(1))), kNow),
                    "signature has wrong length");
    expect_rejected(v.verify(replace_part(token, 2, base64url_encode(sig + '\0')), kNow), "signature has wrong length");
    // r = 0, s = 0 has the right length but is never a valid signature.
    expect_rejected(v.verify(replace_part(token, 2, base64url_encode(std::string(sig.size(), '\0'))), kNow),
                    "signature mismatch");
  }
}

TEST(JwtVerifier, RequiresRsaSignaturesOfTheModulusSize) {
  auto key = rsa_key(2048);
  auto v = JwtVerifier::create(JwtAlgorithm::RS256, public_pem(key.get())).value();
  const std::string token = sign_jwt(JwtAlgorithm::RS256, private_pem(key.get()), "{}").value();
  const std::string sig = base64url_decode(part(token, 2)).value();
  ASSERT_EQ(sig.size(), 256U);
  EXPECT_TRUE(v.verify(token, kNow).has_value());
  expect_rejected(v.verify(replace_part(token, 2, base64url_encode(std::string(1, '\0') + sig)), kNow),
                  "signature has wrong length (257 bytes, expected 256)");
}

TEST(JwtVerifier, RequiresPssSaltOfTheHashLength) {
  auto key = rsa_key(2048);
  auto v = JwtVerifier::create(JwtAlgorithm::PS256, public_pem(key.get())).value();
  const std::string input = base64url_encode(R"({"alg":"PS256"})") + "." + base64url_encode("{}");
  const auto sign_with_salt = [&](int salt) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()), 1);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
    std::string sig(256, '\0');
    std::size_t len = sig.size();
    EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    return input + "." + base64url_encode(sig);
  };
  EXPECT_TRUE(v.verify(sign_with_salt(32), kNow).has_value());
  expect_rejected(v.verify(sign_with_salt(0), kNow), "signature mismatch");
  expect_rejected(v.verify(sign_with_salt(RSA_PSS_SALTLEN_MAX), kNow), "signature mismatch");
}

TEST(JwtVerifier, RejectsAnAsymmetricTokenReplayedAsHmacWithThePublicKey) {
  auto key = rsa_key(2048);
  const std::string pub = public_pem(key.get());
  auto v = JwtVerifier::create(JwtAlgorithm::RS256, pub).value();
  expect_rejected(v.verify(raw_hs256(R"({"alg":"HS256"})", R"({"mercure":{"publish":["*"]}})", pub), kNow),
                  "algorithm HS256 not allowed (expected RS256)");
}

TEST(JwtVerifier, KeepsTheOpensslErrorQueueClean) {
  const auto v = hs256_verifier();
  auto key = ec_key("P-256");
  auto es = JwtVerifier::create(JwtAlgorithm::ES256, public_pem(key.get())).value();
  const std::string token = sign_jwt(JwtAlgorithm::ES256, private_pem(key.get()), "{}").value();
  ERR_clear_error();
  (void)es.verify(replace_part(token, 2, base64url_encode(std::string(64, '\x01'))), kNow);
  (void)JwtVerifier::create(JwtAlgorithm::RS256, "garbage");
  (void)JwtVerifier::create(JwtAlgorithm::RS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(JwtVerifier, VerifiesConcurrentlyFromManyThreads) {
  auto key = ec_key("P-256");
  const auto v = JwtVerifier::create(JwtAlgorithm::ES256, public_pem(key.get())).value();
  const std::string good =
      sign_jwt(JwtAlgorithm::ES256, private_pem(key.get()), R"({"mercure":{"publish":["*"]}})").value();
  const std::string bad = replace_part(good, 1, base64url_encode(R"({"mercure":{"publish":["/x"]}})"));
  const auto h = hs256_verifier();
  const std::string hs_good = hs256("{}");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!v.verify(good, kNow) || v.verify(bad, kNow) || !h.verify(hs_good, kNow)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- the failed check, for logs and metrics ---------------------------------------------------

TEST(JwtVerifier, NamesTheFailedCheckOfEveryRejection) {
  const auto v = hs256_verifier();
  const std::string good = hs256(R"({"mercure":{"publish":["*"]}})");
  const std::string other_key = raw_hs256(R"({"alg":"HS256"})", "{}", "another secret, not the hub's one");
  auto ec = ec_key("P-256");
  auto es = JwtVerifier::create(JwtAlgorithm::ES256, public_pem(ec.get())).value();
  auto other_ec = ec_key("P-256");
  const std::string es_other = sign_jwt(JwtAlgorithm::ES256, private_pem(other_ec.get()), "{}").value();

  const std::tuple<const JwtVerifier*, std::string, std::string_view> cases[] = {
      {&v, "garbage", kJwtCheckFormat},
      {&v, replace_part(good, 1, part(good, 1) + "="), kJwtCheckFormat},
      {&v, replace_part(good, 2, ""), kJwtCheckFormat},
      {&v, raw_hs256("not json", "{}"), kJwtCheckFormat},
      {&v, raw_hs256(R"({"alg":"HS256"})", "[]"), kJwtCheckFormat},
      {&v, raw_hs256(R"({"alg":"none"})", "{}"), kJwtCheckAlg},
      {&v, raw_hs256(R"({"alg":"HS512"})", "{}"), kJwtCheckAlg},
      {&v, raw_hs256(R"({"alg":"HS256","crit":["b64"]})", "{}"), kJwtCheckCrit},
      {&v, other_key, kJwtCheckSignature},
      {&v, replace_part(good, 2, base64url_encode("short")), kJwtCheckSignature},
      {&es, es_other, kJwtCheckSignature},
      {&v, hs256(R"({"mercure":{"publish":"*"}})"), kJwtCheckClaims},
      {&v, hs256(R"({"exp":"soon"})"), kJwtCheckClaims},
      {&v, hs256(R"({"exp":1699999999})"), kJwtCheckExp},
      {&v, hs256(R"({"nbf":1700000001})"), kJwtCheckNbf},
      {&v, hs256(R"({"iat":1700000061})"), kJwtCheckIat},
  };
  for (const auto& [verifier, token, check] : cases) {
    SCOPED_TRACE(token);
    auto r = verifier->verify(token, kNow);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().check, check) << r.error().reason;
    // The reason never quotes the token.
    EXPECT_EQ(r.error().reason.find(token), std::string::npos) << r.error().reason;
  }
}

TEST(JwtVerifier, IsMovable) {
  auto v = hs256_verifier();
  JwtVerifier moved = std::move(v);
  EXPECT_EQ(moved.algorithm(), JwtAlgorithm::HS256);
  EXPECT_TRUE(moved.verify(hs256("{}"), kNow).has_value());
}

}  // namespace
}  // namespace mercure
