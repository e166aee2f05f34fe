#pragma once
// Automatic HTTPS: the certificate of the site's domain obtained from an ACME CA (Let's Encrypt
// by default) and renewed, as Caddy does for the reference hub. One thread: at start-up a stored
// certificate that is still valid is served at once; a missing one is obtained (TLS-ALPN-01,
// answered by the hub's own listener, or HTTP-01 on the HTTP port when the hub listens there: the
// other type is tried at once when one fails validation, and the last one that worked comes
// first next time), and every certificate is renewed when a third of its lifetime is left. Failures are logged and
// tried again later (1 min, doubling, at most 1 h); the hub keeps serving meanwhile.
//
// Storage: `dir` (created 0700 when missing, else used as it is) holds one folder per CA (the
// hub's own real directory, made 0700), named after its directory URL (e.g. `acme-v02.api.letsencrypt.org-directory`),
// with `account.key` (the ACME account's P-256 key), `<domain>.crt` (the chain, leaf first) and
// `<domain>.key`. Keys are 0600; every file is written to a fresh temporary file, synced and
// renamed, and only once the chain and the key were checked to go together. One hub per `dir`.

#include "core/error.hpp"
#include "core/jwt_crypto.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mercure {

class AcmeChallenges;
class TlsCertificates;

struct AcmeSettings {
  std::string domain;           // lower case
  std::string directory_url;    // the CA's ACME directory
  std::string ca_root_file;     // CAs trusted for the directory's HTTPS; empty: the system's
  std::string email;            // the account's contact; may be empty
  std::string dir;              // where keys and certificates are kept
  bool http_challenge = false;  // HTTP-01 answered (the HTTP port is served)
};

class AcmeManager final {
 public:
  AcmeManager(AcmeSettings settings, std::shared_ptr<TlsCertificates> certificates,
              std::shared_ptr<AcmeChallenges> challenges);
  ~AcmeManager();
  AcmeManager(const AcmeManager&) = delete;
  AcmeManager& operator=(const AcmeManager&) = delete;

  // Creates the storage directory and serves a stored certificate that is still valid. An
  // unusable directory is an error (the hub does not start).
  [[nodiscard]] Result<void> prepare();
  // HTTP-01 challenges are answered on the HTTP port (before start()).
  void set_http_challenge(bool on) { settings_.http_challenge = on; }
  void start();
  void stop();

  // When a certificate valid from `not_before` to `not_after` is renewed: a third of its
  // lifetime before it ends.
  [[nodiscard]] static std::int64_t renewal_time(std::int64_t not_before, std::int64_t not_after);
  // The folder of a CA's files: its directory URL's host, port and path, other characters '-'.
  [[nodiscard]] static std::string ca_folder(const std::string& directory_url);

 private:
  void run();
  [[nodiscard]] Result<void> obtain();
  [[nodiscard]] Result<EvpPkeyPtr> account_key();
  // A certificate valid from `not_before` to `not_after` is served now: its renewal is scheduled
  // and logged ("acme: <what> for ...").
  void served(std::int64_t not_before, std::int64_t not_after, const char* what);
  [[nodiscard]] bool stopping() const;

  AcmeSettings settings_;
  std::string ca_dir_;  // settings_.dir / the CA's folder
  std::shared_ptr<TlsCertificates> certificates_;
  std::shared_ptr<AcmeChallenges> challenges_;
  std::string cert_path_;
  std::string key_path_;
  std::int64_t renew_at_ = 0;  // seconds since the epoch; 0: now
  long ca_retry_after_ = 0;    // seconds the CA asked to wait after the last failure
  std::string preferred_;      // the challenge type tried first (the last one that worked)
  std::int64_t lifetime_ = 0;  // of the certificate served (seconds)
  std::int64_t not_after_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mercure
