#pragma once
// Turns a publisher's or subscriber's token into Claims. Pure: no I/O, no globals.
// Thread-safety: immutable after construction; verify_* may be called from any thread.

#include "core/claims.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_verifier.hpp"
#include "core/verified_token_cache.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mercure {

struct JwtKey {
  JwtAlgorithm algorithm = JwtAlgorithm::HS256;
  std::string key;  // HMAC secret or PEM public key; empty = role cannot authenticate
};

class Authorizer final {
 public:
  // Throws std::runtime_error (start-up) naming the role when a key cannot be loaded.
  Authorizer(const JwtKey& publisher, const JwtKey& subscriber, const Clock& clock);

  [[nodiscard]] Result<Claims> verify_publisher(std::string_view token) const;
  [[nodiscard]] Result<Claims> verify_subscriber(std::string_view token) const;
  // The same, reusing an earlier verification of the identical token from `cache` (the time
  // window is always checked again); a successful fresh verification is added to it.
  [[nodiscard]] Result<Claims> verify_publisher(std::string_view token, VerifiedTokenCache& cache) const;
  [[nodiscard]] Result<Claims> verify_subscriber(std::string_view token, VerifiedTokenCache& cache) const;
  // False when no subscriber key is configured (a hub for anonymous subscribers only).
  [[nodiscard]] bool has_subscriber_key() const { return subscriber_.has_value(); }

 private:
  [[nodiscard]] Result<Claims> verify_cached(const std::optional<JwtVerifier>& verifier, const char* role,
                                             std::string_view token, VerifiedTokenCache& cache) const;

  std::optional<JwtVerifier> publisher_;
  std::optional<JwtVerifier> subscriber_;
  const Clock& clock_;
};

}  // namespace mercure
