#pragma once
// `mercure-hub token`: prints a signed JWT for the hub, then a newline, to stdout.
//
//   mercure-hub token --key K | --key-file F  [--alg HS256] [--publish SEL]... [--subscribe SEL]...
//                     [--exp 1h] [--payload JSON]
//
// Claims: {"mercure":{"publish":[...],"subscribe":[...],"payload":<JSON>},"exp":<now + exp>}.
// Both arrays are always present (possibly empty); "payload" only with --payload; "exp" is left
// out with --exp 0. The key is the HMAC secret (HS*) or an unencrypted PEM private key (RS*, PS*,
// ES*, EdDSA); a one-line PEM with literal "\n" escapes is accepted. Start-up code, not thread-safe.

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace mercure {

struct TokenOptions {
  std::string key;
  std::string algorithm = "HS256";
  std::vector<std::string> publish;
  std::vector<std::string> subscribe;
  std::optional<std::string> payload_json;  // any JSON value, checked by token_claims_json
  std::chrono::seconds expires_in{3600};    // 0 = no exp claim
};

class TokenCommand {
 public:
  // Adds the `token` subcommand to `app`. This object must outlive app.parse() and run().
  explicit TokenCommand(CLI::App& app);

  // True when the parsed command line selected `token`.
  [[nodiscard]] bool selected() const;

  // Validates the parsed options, signs, prints the token and "\n" to `out`; returns 0. On a bad
  // option or key, prints one line "mercure-hub: ..." to `err` and returns 2.
  int run(std::ostream& out, std::ostream& err, std::int64_t now_unix_seconds) const;

 private:
  CLI::App* command_ = nullptr;
  std::string key_;
  std::string key_file_;
  std::string algorithm_ = "HS256";
  std::vector<std::string> publish_;
  std::vector<std::string> subscribe_;
  std::string expires_in_ = "1h";
  std::optional<std::string> payload_;
};

// The claims object as compact JSON. Throws std::invalid_argument when payload_json is not JSON.
[[nodiscard]] std::string token_claims_json(const TokenOptions& options, std::int64_t now_unix_seconds);

// Claims + signature. Errors: unknown algorithm, bad payload, unusable key (Errc::bad_request).
[[nodiscard]] Result<std::string> make_token(const TokenOptions& options, std::int64_t now_unix_seconds);

}  // namespace mercure
