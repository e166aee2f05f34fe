#include "http/acme_challenges.hpp"

#include "http/tls_context.hpp"

namespace mercure {

void AcmeChallenges::set(const std::string& domain, const std::string& cert_pem, const std::string& key_pem) {
  auto ctx = TlsContext::challenge(cert_pem, key_pem);
  const std::lock_guard lock(mutex_);
  contexts_[domain] = std::move(ctx);
}

void AcmeChallenges::erase(const std::string& domain) {
  const std::lock_guard lock(mutex_);
  contexts_.erase(domain);
}

std::shared_ptr<const TlsContext> AcmeChallenges::find(std::string_view domain) const {
  const std::lock_guard lock(mutex_);
  const auto it = contexts_.find(domain);
  return it == contexts_.end() ? nullptr : it->second;
}

void AcmeChallenges::set_http(const std::string& token, const std::string& key_authorization) {
  const std::lock_guard lock(mutex_);
  key_authorizations_[token] = key_authorization;
}

void AcmeChallenges::erase_http(const std::string& token) {
  const std::lock_guard lock(mutex_);
  key_authorizations_.erase(token);
}

std::optional<std::string> AcmeChallenges::find_http(std::string_view token) const {
  const std::lock_guard lock(mutex_);
  const auto it = key_authorizations_.find(token);
  if (it == key_authorizations_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mercure
