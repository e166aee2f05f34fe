#pragma once
// Turns a publisher's or subscriber's token into Claims. Pure: no I/O, no globals.
// Thread-safety: immutable after construction; verify_* may be called from any thread.

#include "core/claims.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_verifier.hpp"
#include "core/key_set_verifier.hpp"
#include "core/verified_token_cache.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

struct JwtKey {
  JwtAlgorithm algorithm = JwtAlgorithm::HS256;
  std::string key;  // HMAC secret or PEM public key; empty = role cannot authenticate
  // When set, the role's keys are this JSON Web Key Set's (kept current by src/app's fetcher);
  // `algorithm` and `key` are then unused.
  std::shared_ptr<KeySetSource> key_set;
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
  [[nodiscard]] bool has_subscriber_key() const { return subscriber_.configured(); }
  // Each role's key set; null when the role has a configured key (or none).
  [[nodiscard]] KeySetSource* publisher_key_set() const { return publisher_.key_set.get(); }
  [[nodiscard]] KeySetSource* subscriber_key_set() const { return subscriber_.key_set.get(); }

 private:
  // One role's keys: a configured key, a key set, or none.
  struct Role {
    const char* name;
    std::optional<JwtVerifier> verifier;
    std::shared_ptr<KeySetSource> key_set;

    [[nodiscard]] bool configured() const { return verifier.has_value() || key_set != nullptr; }
    [[nodiscard]] Result<Claims> verify_untimed(std::string_view token) const;
  };
  [[nodiscard]] static Role load(const JwtKey& key, const char* name);
  [[nodiscard]] Result<Claims> verify(const Role& role, std::string_view token) const;
  [[nodiscard]] Result<Claims> verify_cached(const Role& role, std::string_view token, VerifiedTokenCache& cache) const;

  Role publisher_;
  Role subscriber_;
  const Clock& clock_;
};

}  // namespace mercure
