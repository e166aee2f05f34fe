#include "app/token_command.hpp"

#include "app/config.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_signer.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace mercure {
namespace {

boost::json::array string_array(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

}  // namespace

TokenCommand::TokenCommand(CLI::App& app) {
  command_ = app.add_subcommand("token", "print a signed JWT for this hub (then exit)");
  command_->add_option("--key", key_, "HMAC secret, or PEM private key for RS*/PS*/ES*/EdDSA")->type_name("KEY");
  command_->add_option("--key-file", key_file_, "read the key from this file")->type_name("FILE");
  command_->add_option("--alg", algorithm_, "signing algorithm")->type_name("ALG")->default_str("HS256");
  command_->add_option("--publish", publish_, "topic selector the token may publish to (repeatable)")
      ->type_name("SELECTOR")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_
      ->add_option("--subscribe", subscribe_, "topic selector the token may receive private updates of (repeatable)")
      ->type_name("SELECTOR")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_->add_option("--exp", expires_in_, "lifetime of the token; 0 = no exp claim")
      ->type_name("DURATION")
      ->default_str("1h");
  command_->add_option("--payload", payload_, "JSON value put in mercure.payload")->type_name("JSON");
}

bool TokenCommand::selected() const {
  return command_->parsed();
}

int TokenCommand::run(std::ostream& out, std::ostream& err, std::int64_t now_unix_seconds) const {
  const auto fail = [&](const std::string& message) {
    err << "mercure-hub: " << message << '\n';
    return 2;
  };
  TokenOptions options;
  if (key_.empty() == key_file_.empty()) return fail("token needs exactly one of --key and --key-file");
  if (!key_file_.empty()) {
    std::ifstream in(key_file_, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) return fail("invalid --key-file \"" + key_file_ + "\": cannot read the file");
    options.key = text.str();
    if (options.key.empty()) return fail("invalid --key-file \"" + key_file_ + "\": the file is empty");
  } else {
    options.key = unfold_pem(key_);
  }
  options.algorithm = algorithm_;
  options.publish = publish_;
  options.subscribe = subscribe_;
  options.payload_json = payload_;
  try {
    const auto ms = parse_duration(expires_in_);
    options.expires_in = std::chrono::ceil<std::chrono::seconds>(ms);
  } catch (const std::invalid_argument& e) {
    return fail("invalid --exp \"" + expires_in_ + "\": " + e.what());
  }
  auto token = make_token(options, now_unix_seconds);
  if (!token) return fail(token.error().reason);
  out << *token << '\n';
  out.flush();
  return 0;
}

std::string token_claims_json(const TokenOptions& options, std::int64_t now_unix_seconds) {
  boost::json::object mercure;
  mercure["publish"] = string_array(options.publish);
  mercure["subscribe"] = string_array(options.subscribe);
  if (options.payload_json) {
    boost::system::error_code ec;
    boost::json::value payload = boost::json::parse(*options.payload_json, ec);
    if (ec) throw std::invalid_argument("not valid JSON: " + ec.message());
    mercure["payload"] = std::move(payload);
  }
  boost::json::object claims;
  claims["mercure"] = std::move(mercure);
  if (options.expires_in.count() > 0) claims["exp"] = now_unix_seconds + options.expires_in.count();
  return boost::json::serialize(claims);
}

Result<std::string> make_token(const TokenOptions& options, std::int64_t now_unix_seconds) {
  const auto alg = parse_jwt_algorithm(options.algorithm);
  if (!alg) {
    return Error{Errc::bad_request, "invalid --alg \"" + options.algorithm +
                                        "\": unsupported algorithm (supported: HS256, HS384, HS512, RS256, RS384, "
                                        "RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)"};
  }
  std::string claims;
  try {
    claims = token_claims_json(options, now_unix_seconds);
  } catch (const std::invalid_argument& e) {
    return Error{Errc::bad_request, std::string("invalid --payload: ") + e.what()};
  }
  auto token = sign_jwt(*alg, options.key, claims);
  if (!token) return Error{Errc::bad_request, "cannot sign with this key: " + token.error().reason};
  return token;
}

}  // namespace mercure
