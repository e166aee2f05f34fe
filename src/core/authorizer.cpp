#include "core/authorizer.hpp"

#include <stdexcept>

namespace mercure {

Authorizer::Role Authorizer::load(const JwtKey& k, const char* name) {
  Role role{name, std::nullopt, k.key_set};
  if (k.key_set || k.key.empty()) return role;
  auto v = JwtVerifier::create(k.algorithm, k.key);
  if (!v) {
    throw std::runtime_error(std::string(name) + " JWT key: " + v.error().reason);
  }
  role.verifier = std::move(*v);
  return role;
}

Authorizer::Authorizer(const JwtKey& publisher, const JwtKey& subscriber, const Clock& clock)
    : publisher_(load(publisher, "publisher")), subscriber_(load(subscriber, "subscriber")), clock_(clock) {}

Result<Claims> Authorizer::Role::verify_untimed(std::string_view token) const {
  if (verifier) return verifier->verify_untimed(token);
  if (!key_set) return Error{Errc::unauthorized, std::string("no ") + name + " key configured", kJwtCheckKey};
  const auto set = key_set->current();
  if (!set) return Error{Errc::unauthorized, std::string("the ") + name + " key set is not loaded", kJwtCheckKey};
  auto claims = set->verify_untimed(token);
  if (!claims && claims.error().check == kJwtCheckKid) key_set->request_refresh();
  return claims;
}

Result<Claims> Authorizer::verify(const Role& role, std::string_view token) const {
  auto claims = role.verify_untimed(token);
  if (!claims) return claims;
  if (auto in_time = JwtVerifier::check_time(*claims, clock_.unix_seconds()); !in_time) return in_time.error();
  return claims;
}

Result<Claims> Authorizer::verify_publisher(std::string_view token) const {
  return verify(publisher_, token);
}

Result<Claims> Authorizer::verify_subscriber(std::string_view token) const {
  return verify(subscriber_, token);
}

Result<Claims> Authorizer::verify_publisher(std::string_view token, VerifiedTokenCache& cache) const {
  return verify_cached(publisher_, token, cache);
}

Result<Claims> Authorizer::verify_subscriber(std::string_view token, VerifiedTokenCache& cache) const {
  return verify_cached(subscriber_, token, cache);
}

Result<Claims> Authorizer::verify_cached(const Role& role, std::string_view token, VerifiedTokenCache& cache) const {
  if (!role.configured()) {
    return Error{Errc::unauthorized, std::string("no ") + role.name + " key configured", kJwtCheckKey};
  }
  if (role.key_set) cache.sync_generation(role.key_set->generation());
  const auto now = clock_.unix_seconds();
  if (const Claims* cached = cache.find(token)) {
    if (auto in_time = JwtVerifier::check_time(*cached, now); !in_time) return in_time.error();
    return *cached;
  }
  auto claims = role.verify_untimed(token);
  if (!claims) return claims;
  if (auto in_time = JwtVerifier::check_time(*claims, now); !in_time) return in_time.error();
  cache.insert(token, *claims);
  return claims;
}

}  // namespace mercure
