#pragma once
// Loads tests/data/jwk_cases.json, written by scripts/gen-jwk-cases.mjs with npm jose: the keys of
// jwt_cases.json as JSON Web Keys, each with a token jose signed with the key's kid.

#include "jwt_cases.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace mercure::jwk_test {

struct JwkCases {
  std::int64_t now = 0;
  boost::json::object keys;           // name -> {alg, jwk, token, claims}
  boost::json::object small_rsa_jwk;  // a 1024-bit RSA key (node:crypto), alg RS256
  boost::json::object short_x_jwk;    // a P-256 key whose x is written without its leading zero
  std::string short_x_token;          // signed by it, kid "short-x"
};

inline JwkCases load_jwk_cases() {
  boost::json::value doc = jwt_test::load_test_json("jwk_cases.json", "gen-jwk-cases.mjs");
  return JwkCases{doc.at("now").to_number<std::int64_t>(), doc.at("keys").as_object(),
                  doc.at("small_rsa_jwk").as_object(), doc.at("short_x_jwk").as_object(),
                  std::string(doc.at("short_x_token").as_string())};
}

// {"keys": [jwk...]} as text.
inline std::string key_set_of(std::initializer_list<boost::json::value> jwks) {
  boost::json::object set;
  boost::json::array keys;
  for (const auto& jwk : jwks) keys.push_back(jwk);
  set["keys"] = std::move(keys);
  return boost::json::serialize(set);
}

// The key's JWK with `member` removed (or replaced when `value` is given).
inline boost::json::object jwk_with(boost::json::object jwk, std::string_view member,
                                    const boost::json::value* value = nullptr) {
  if (value != nullptr) {
    jwk[member] = *value;
  } else {
    jwk.erase(member);
  }
  return jwk;
}

}  // namespace mercure::jwk_test
