#pragma once
// An ACME client (RFC 8555) that obtains one certificate for one domain name with the
// TLS-ALPN-01 challenge (RFC 8737, answered by the hub's own TLS listener) or the HTTP-01 one
// (RFC 8555 8.3, answered on the HTTP port), through `present`:
// directory, nonces (a badNonce refusal is retried with the nonce it carries), the account
// (created or found again by its key), the order, the authorization, the challenge, the
// finalization with a CSR, the certificate chain as PEM. Requests over libcurl, each bounded
// in time; polling follows Retry-After.
//
// Thread-safety: one thread at a time; it blocks (never call it from a shard).

#include "core/error.hpp"
#include "core/jwt_crypto.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace mercure::acme {

struct ClientOptions {
  std::string directory_url;  // e.g. https://acme-v02.api.letsencrypt.org/directory
  std::string ca_root_file;   // PEM CAs for the directory's HTTPS; empty: the system's
  std::string email;          // the account's contact; may be empty
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds validation_timeout{120};  // for the authorization, then the order
};

inline constexpr const char* kTlsAlpn01 = "tls-alpn-01";
inline constexpr const char* kHttp01 = "http-01";

// The listeners' side of a challenge of `type` (kTlsAlpn01: serve the certificate that proves
// control of `domain` to a client offering ALPN "acme-tls/1"; kHttp01: serve the key
// authorization at /.well-known/acme-challenge/<token>), then stop serving it.
struct ChallengeHooks {
  std::function<Result<void>(const std::string& type, const std::string& domain, const std::string& token,
                             const std::string& key_authorization)>
      present;
  std::function<void(const std::string& type, const std::string& domain, const std::string& token)> cleanup;
};

class Client final {
 public:
  // `abandon`: polled while waiting; true ends the current request (the hub is stopping).
  Client(ClientOptions options, EvpPkeyPtr account_key, std::function<bool()> abandon);

  // The certificate chain (PEM, leaf first) for `domain`, for the public key of `cert_key`,
  // proving control of it with the challenge of type `challenge` (kTlsAlpn01 or kHttp01).
  // `challenge_failed` tells whether a failure was that challenge's validation (another type may
  // succeed).
  [[nodiscard]] Result<std::string> obtain(const std::string& domain, EVP_PKEY* cert_key, const std::string& challenge,
                                           const ChallengeHooks& hooks);
  [[nodiscard]] bool challenge_failed() const { return challenge_failed_; }

  // How long the CA asked to wait (Retry-After of a refusal: a rate limit, 503), in seconds;
  // 0 when it did not.
  [[nodiscard]] long retry_after() const { return retry_after_; }

 private:
  struct Reply {
    long status = 0;
    std::string body;
    std::string location;
    std::string nonce;
    std::string content_type;
    long retry_after = -1;  // seconds; -1: none
  };

  [[nodiscard]] Result<Reply> http(const char* method, const std::string& url, const std::string& body,
                                   const char* accept);
  [[nodiscard]] Result<void> load_directory();
  [[nodiscard]] Result<void> register_account();
  // A JWS POST (`payload` empty: POST-as-GET); with the account's JWK until it has a URL.
  [[nodiscard]] Result<Reply> post(const std::string& url, const std::string& payload, const char* accept = nullptr);
  // Polls `url` (POST-as-GET) until its JSON `status` leaves the pending states.
  [[nodiscard]] Result<std::string> poll(const std::string& url, const char* what);
  // POSTs `payload` to `url` (200 expected: a challenge answered, an order finalized), then polls
  // `poll_url` until it settles; its final JSON.
  [[nodiscard]] Result<std::string> post_and_poll(const std::string& url, const std::string& payload, const char* what,
                                                  const std::string& poll_url, const char* poll_what);
  [[nodiscard]] Result<void> authorize(const std::string& authz_url, const std::string& domain, const std::string& type,
                                       const ChallengeHooks& hooks);
  [[nodiscard]] bool wait(std::chrono::milliseconds duration) const;

  ClientOptions options_;
  EvpPkeyPtr account_key_;
  std::function<bool()> abandon_;
  std::string thumbprint_;
  std::string new_nonce_url_;
  std::string new_account_url_;
  std::string new_order_url_;
  std::string account_url_;
  std::string nonce_;
  long retry_after_ = 0;
  bool challenge_failed_ = false;
};

}  // namespace mercure::acme
