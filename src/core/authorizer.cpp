#include "core/authorizer.hpp"

#include <stdexcept>

namespace mercure {

namespace {
std::optional<JwtVerifier> load(const JwtKey& k, const char* role) {
  if (k.key.empty()) return std::nullopt;
  auto v = JwtVerifier::create(k.algorithm, k.key);
  if (!v) {
    throw std::runtime_error(std::string(role) + " JWT key: " + v.error().reason);
  }
  return std::move(*v);
}
}  // namespace

Authorizer::Authorizer(const JwtKey& publisher, const JwtKey& subscriber, const Clock& clock)
    : publisher_(load(publisher, "publisher")), subscriber_(load(subscriber, "subscriber")), clock_(clock) {}

Result<Claims> Authorizer::verify_publisher(std::string_view token) const {
  if (!publisher_) return Error{Errc::unauthorized, "no publisher key configured", kJwtCheckKey};
  return publisher_->verify(token, clock_.unix_seconds());
}

Result<Claims> Authorizer::verify_subscriber(std::string_view token) const {
  if (!subscriber_) return Error{Errc::unauthorized, "no subscriber key configured", kJwtCheckKey};
  return subscriber_->verify(token, clock_.unix_seconds());
}

Result<Claims> Authorizer::verify_publisher(std::string_view token, VerifiedTokenCache& cache) const {
  return verify_cached(publisher_, "publisher", token, cache);
}

Result<Claims> Authorizer::verify_subscriber(std::string_view token, VerifiedTokenCache& cache) const {
  return verify_cached(subscriber_, "subscriber", token, cache);
}

Result<Claims> Authorizer::verify_cached(const std::optional<JwtVerifier>& verifier, const char* role,
                                         std::string_view token, VerifiedTokenCache& cache) const {
  if (!verifier) return Error{Errc::unauthorized, std::string("no ") + role + " key configured", kJwtCheckKey};
  const auto now = clock_.unix_seconds();
  if (const Claims* cached = cache.find(token)) {
    if (auto in_time = JwtVerifier::check_time(*cached, now); !in_time) return in_time.error();
    return *cached;
  }
  auto claims = verifier->verify_untimed(token);
  if (!claims) return claims;
  if (auto in_time = JwtVerifier::check_time(*claims, now); !in_time) return in_time.error();
  cache.insert(token, *claims);
  return claims;
}

}  // namespace mercure
