#include "app/token_command.hpp"

#include "../core/jwt_cases.hpp"
#include "core/base64url.hpp"
#include "core/jwt_verifier.hpp"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mercure {
namespace {

constexpr std::int64_t kNow = 1'795'341'600;
constexpr std::string_view kSecret = "!ChangeThisMercureHubJWTSecretKey!";

boost::json::object claims_of(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const auto decoded = base64url_decode(token.substr(first + 1, second - first - 1));
  EXPECT_TRUE(decoded.has_value());
  return boost::json::parse(decoded ? *decoded : std::string("{}")).as_object();
}

struct RunResult {
  int status;
  std::string out;
  std::string err;
};

RunResult run_token(std::vector<std::string> args, std::int64_t now = kNow) {
  CLI::App app;
  TokenCommand command(app);
  args.insert(args.begin(), {"mercure-hub", "token"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(command.selected());
  std::ostringstream out;
  std::ostringstream err;
  const int status = command.run(out, err, now);
  return {status, out.str(), err.str()};
}

TEST(TokenCommand, ClaimsCarryTheSelectorsAndAnExpiry) {
  TokenOptions options;
  options.publish = {"https://example.com/books/{id}", "*"};
  options.subscribe = {"https://example.com/users/1"};
  EXPECT_EQ(
      token_claims_json(options, kNow),
      R"({"mercure":{"publish":["https://example.com/books/{id}","*"],"subscribe":["https://example.com/users/1"]},)"
      R"("exp":1795345200})");
}

TEST(TokenCommand, PayloadIsEmbeddedAsJsonAndExpZeroMeansNoExpiry) {
  TokenOptions options;
  options.payload_json = R"({"user":"https://example.com/users/1","n":[1,2]})";
  options.expires_in = std::chrono::seconds{0};
  EXPECT_EQ(token_claims_json(options, kNow),
            R"({"mercure":{"publish":[],"subscribe":[],"payload":{"user":"https://example.com/users/1","n":[1,2]}}})");
  options.payload_json = "{nope";
  EXPECT_THROW((void)token_claims_json(options, kNow), std::invalid_argument);
}

TEST(TokenCommand, HmacTokensPassOurVerifier) {
  TokenOptions options;
  options.key = std::string(kSecret);
  options.publish = {"*"};
  options.subscribe = {"https://example.com/a"};
  options.payload_json = R"("hello")";
  auto token = make_token(options, kNow);
  ASSERT_TRUE(token) << token.error().reason;
  auto verifier = JwtVerifier::create(JwtAlgorithm::HS256, kSecret);
  ASSERT_TRUE(verifier) << verifier.error().reason;
  auto claims = verifier->verify(*token, kNow + 10);
  ASSERT_TRUE(claims) << claims.error().reason;
  EXPECT_FALSE(verifier->verify(*token, kNow + 3600));  // expired after one hour
}

TEST(TokenCommand, EveryAsymmetricFamilySignsWithAPemPrivateKey) {
  const auto cases = jwt_test::load_jwt_cases();
  for (const char* alg : {"RS256", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"}) {
    const auto& key = cases.keys.at(alg).as_object();
    TokenOptions options;
    options.key = jwt_test::str(key.at("private_pem"));
    options.algorithm = alg;
    options.publish = {"*"};
    auto token = make_token(options, kNow);
    ASSERT_TRUE(token) << alg << ": " << token.error().reason;
    auto verifier = JwtVerifier::create(*parse_jwt_algorithm(alg), jwt_test::str(key.at("public_pem")));
    ASSERT_TRUE(verifier) << alg;
    EXPECT_TRUE(verifier->verify(*token, kNow)) << alg;
  }
}

TEST(TokenCommand, BadAlgorithmPayloadOrKeyIsAnError) {
  TokenOptions options;
  options.key = "k";
  options.algorithm = "none";
  auto token = make_token(options, kNow);
  ASSERT_FALSE(token);
  EXPECT_TRUE(token.error().reason.starts_with("invalid --alg \"none\": unsupported algorithm"))
      << token.error().reason;

  options.algorithm = "HS256";
  options.payload_json = "[1,";
  token = make_token(options, kNow);
  ASSERT_FALSE(token);
  EXPECT_TRUE(token.error().reason.starts_with("invalid --payload: not valid JSON")) << token.error().reason;

  options.payload_json.reset();
  options.algorithm = "RS256";
  token = make_token(options, kNow);
  ASSERT_FALSE(token);
  EXPECT_TRUE(token.error().reason.starts_with("cannot sign with this key: ")) << token.error().reason;
}

TEST(TokenCommand, PrintsOneTokenAndANewline) {
  const RunResult r = run_token({"--key", std::string(kSecret), "--publish", "*", "--publish", "https://e.example/{x}",
                                 "--subscribe", "https://e.example/a", "--exp", "90m", "--payload", R"({"a":1})"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(r.out.back(), '\n');
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  const auto claims = claims_of(token);
  EXPECT_EQ(
      boost::json::serialize(claims),
      R"({"mercure":{"publish":["*","https://e.example/{x}"],"subscribe":["https://e.example/a"],"payload":{"a":1}},)"
      R"("exp":1795347000})");
  auto verifier = JwtVerifier::create(JwtAlgorithm::HS256, kSecret);
  ASSERT_TRUE(verifier);
  auto verified = verifier->verify(token, kNow);
  ASSERT_TRUE(verified) << verified.error().reason;
}

TEST(TokenCommand, ReadsTheKeyFromAFile) {
  const auto cases = jwt_test::load_jwt_cases();
  const auto& key = cases.keys.at("ES256").as_object();
  const std::string path = ::testing::TempDir() + "/token_command_test_key.pem";
  {
    std::ofstream out(path);
    out << jwt_test::str(key.at("private_pem"));
  }
  const RunResult r = run_token({"--key-file", path, "--alg", "ES256", "--publish", "*", "--exp", "0"});
  std::remove(path.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_FALSE(claims_of(token).contains("exp"));
  auto verifier = JwtVerifier::create(JwtAlgorithm::ES256, jwt_test::str(key.at("public_pem")));
  ASSERT_TRUE(verifier);
  EXPECT_TRUE(verifier->verify(token, kNow + 100'000'000));
}

TEST(TokenCommand, AcceptsAOneLinePemWithEscapedNewlines) {
  const auto cases = jwt_test::load_jwt_cases();
  std::string pem = jwt_test::str(cases.keys.at("EdDSA").as_object().at("private_pem"));
  std::string one_line;
  for (char c : pem) one_line += c == '\n' ? std::string("\\n") : std::string(1, c);
  const RunResult r = run_token({"--key", one_line, "--alg", "EdDSA", "--publish", "*"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(TokenCommand, MistakesPrintOneLineAndExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"--publish", "*"}, "mercure-hub: token needs exactly one of --key and --key-file\n"},
      {{"--key", "k", "--key-file", "f"}, "mercure-hub: token needs exactly one of --key and --key-file\n"},
      {{"--key", "k", "--exp", "-1h"}, "mercure-hub: invalid --exp \"-1h\": negative durations are not allowed\n"},
      {{"--key", "k", "--exp", "10"},
       "mercure-hub: invalid --exp \"10\": not a duration: a number needs a unit (examples: 40s, 500ms, 1m30s)\n"},
      {{"--key-file", "/nonexistent/key.pem"},
       "mercure-hub: invalid --key-file \"/nonexistent/key.pem\": cannot read the file\n"},
  };
  for (const Case& c : cases) {
    const RunResult r = run_token(c.args);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
  const RunResult bad_alg = run_token({"--key", "k", "--alg", "HS999"});
  EXPECT_EQ(bad_alg.status, 2);
  EXPECT_EQ(std::count(bad_alg.err.begin(), bad_alg.err.end(), '\n'), 1);
  EXPECT_TRUE(bad_alg.err.starts_with("mercure-hub: invalid --alg \"HS999\"")) << bad_alg.err;
}

}  // namespace
}  // namespace mercure
