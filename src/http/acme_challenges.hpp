#pragma once
// The answers to an ACME CA's challenges while an order is pending (automatic HTTPS): for
// TLS-ALPN-01 (RFC 8737) the certificate served, by domain name (lower case), to a handshake
// offering ALPN "acme-tls/1"; for HTTP-01 (RFC 8555, 8.3) the key authorization served at
// /.well-known/acme-challenge/<token> on the HTTP port. Set by the ACME manager's thread, read
// by the listeners'. Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class TlsContext;

class AcmeChallenges final {
 public:
  // Throws TlsSetupError when the PEM documents are not a certificate and its key.
  void set(const std::string& domain, const std::string& cert_pem, const std::string& key_pem);
  void erase(const std::string& domain);
  [[nodiscard]] std::shared_ptr<const TlsContext> find(std::string_view domain) const;

  void set_http(const std::string& token, const std::string& key_authorization);
  void erase_http(const std::string& token);
  [[nodiscard]] std::optional<std::string> find_http(std::string_view token) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const TlsContext>, std::less<>> contexts_;
  std::map<std::string, std::string, std::less<>> key_authorizations_;  // by HTTP-01 token
};

}  // namespace mercure
