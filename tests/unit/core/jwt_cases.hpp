#pragma once
// Loads tests/data/jwt_cases.json, written by scripts/gen-jwt-cases.mjs with npm jose.

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#ifndef MERCURE_TEST_DATA_DIR
#error "MERCURE_TEST_DATA_DIR must name the tests/data directory (a string literal)"
#endif

namespace mercure::jwt_test {

struct JwtCases {
  std::int64_t now = 0;
  boost::json::object keys;
  boost::json::array cases;
};

// tests/data/<file>, parsed; `generator` names the script that writes it (for the message).
inline boost::json::value load_test_json(const std::string& file, const std::string& generator) {
  const std::string path = std::string(MERCURE_TEST_DATA_DIR) + "/" + file;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path << " (run: node scripts/" << generator << ")";
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str());
}

inline JwtCases load_jwt_cases() {
  boost::json::value doc = load_test_json("jwt_cases.json", "gen-jwt-cases.mjs");
  JwtCases out;
  out.now = doc.at("now").to_number<std::int64_t>();
  out.keys = doc.at("keys").as_object();
  out.cases = doc.at("cases").as_array();
  return out;
}

inline std::string str(const boost::json::value& v) {
  return std::string(v.as_string());
}

// The verifier key text of a key entry: the HMAC secret, or the PEM given to the verifier.
inline std::string verifier_key(const boost::json::object& key) {
  if (const auto* s = key.if_contains("secret")) return str(*s);
  return str(key.at("public_pem"));
}

}  // namespace mercure::jwt_test
