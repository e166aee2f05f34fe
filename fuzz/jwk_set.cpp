// Fuzz target: JSON Web Key Sets (core/jwk_set.hpp) and verification through them
// (core/key_set_verifier.hpp): what an identity provider's jwks_uri, or whoever answers in its
// place, may send the hub.
//
// Every input is read as a key set. Properties:
//   - it never crashes; a refusal is Errc::bad_request with a one-line printable reason that
//     starts with "not a JSON Web Key Set";
//   - every entry of `keys` is either kept or named in `skipped` (one printable line each);
//   - every kept key is a public key and verifies only what its type allows: RSA keys of at
//     least 2048 bits RS*/PS*, EC keys the ES* of their curve, Ed25519/Ed448 EdDSA; never HS*;
//   - a KeySetVerifier built from the set refuses, with Errc::unauthorized, a token no key of the
//     set signed: the fixed tokens below (whatever kid they name) and the input itself.
// Seeds: fuzz/corpus/jwk_set (the JWKs of tests/data/jwk_cases.json, written by npm jose).

#include "core/jwk_set.hpp"
#include "core/key_set_verifier.hpp"

#include "fuzz_check.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace mercure;

bool one_printable_line(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c != 0x7f; });
}

std::size_t entries_of(std::string_view input) {
  // The number of entries of `keys`, when the input is a key set at all (checked by the caller).
  auto doc = boost::json::parse(input);
  return doc.as_object().at("keys").as_array().size();
}

bool fits(JwtAlgorithm alg, const Jwk& key) {
  const std::string_view name = to_string(alg);
  if (!key.key || is_hmac(alg)) return false;
  EVP_PKEY* k = key.key.get();
  switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
      return (name.starts_with("RS") || name.starts_with("PS")) && EVP_PKEY_get_bits(k) >= 2048;
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) return false;
      const std::string_view g(group, len);
      return (name == "ES256" && g == "prime256v1") || (name == "ES384" && g == "secp384r1") ||
             (name == "ES512" && g == "secp521r1");
    }
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
      return alg == JwtAlgorithm::EdDSA;
    default:
      return false;
  }
}

// Tokens no key of any set signed (their signatures are made up), naming kids a set may have.
constexpr std::string_view kForeignTokens[] = {
    // {"alg":"HS256","kid":"a"} . {"mercure":{"publish":["*"]}} . 32 made-up bytes
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImEifQ.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.AAECAwQFBgcICQoLDA0OD"
    "xAREhMUFRYXGBkaGxwdHh8",
    // {"alg":"RS256","kid":"a"} . the same . 256 bytes of 0x01
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImEifQ.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.AQEBAQEBAQEBAQEBAQEBA"
    "QEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBA"
    "QEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBA"
    "QEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBA"
    "QEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ",
    // {"alg":"ES256"} (no kid) . the same . 64 bytes of 0x01
    "eyJhbGciOiJFUzI1NiJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"
    "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ",
    // {"alg":"none","kid":"a"} . the same . nothing
    "eyJhbGciOiJub25lIiwia2lkIjoiYSJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto set = parse_jwk_set(input);
  if (!set) {
    FUZZ_CHECK(set.error().code == Errc::bad_request);
    FUZZ_CHECK_MSG(set.error().reason.starts_with("not a JSON Web Key Set"), set.error().reason);
    FUZZ_CHECK_MSG(one_printable_line(set.error().reason), set.error().reason);
    return 0;
  }
  FUZZ_CHECK(set->keys.size() + set->skipped.size() == entries_of(input));
  for (const std::string& line : set->skipped) FUZZ_CHECK_MSG(one_printable_line(line), line);
  for (const Jwk& key : set->keys) {
    FUZZ_CHECK(!key.algorithms.empty());
    for (JwtAlgorithm alg : key.algorithms) FUZZ_CHECK_MSG(fits(alg, key), to_string(alg));
  }
  const KeySetVerifier verifier(*set);
  FUZZ_CHECK(verifier.key_count() == set->keys.size());
  for (std::string_view token : kForeignTokens) {
    auto claims = verifier.verify_untimed(token);
    FUZZ_CHECK_MSG(!claims, token);
    FUZZ_CHECK(claims.error().code == Errc::unauthorized && one_printable_line(claims.error().reason));
  }
  auto claims = verifier.verify_untimed(input);
  FUZZ_CHECK(!claims && claims.error().code == Errc::unauthorized);
  return 0;
}
