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

}  // namespace mercure
