#pragma once
// The hub's TLS configuration: one OpenSSL SSL_CTX built at start-up from a PEM certificate
// chain and a PEM private key (CERT_FILE / KEY_FILE), shared read-only by every shard.
// TLS 1.2 and 1.3 only, no renegotiation; ALPN answers "h2" when the client offers it and HTTP/2
// is on, else "http/1.1" when offered, and no protocol otherwise.
//
// Thread-safe once built: sessions are created from it on any shard.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

struct ssl_ctx_st;

namespace mercure {

class AcmeChallenges;

class TlsContext final {
 public:
  // Throws TlsSetupError, naming the file and what is wrong with it (never its contents):
  // missing or unreadable, not PEM, no certificate or key in it, a key that is not the
  // certificate's.
  // `h2`: ALPN may choose HTTP/2. `challenges` (automatic certificates): a handshake offering
  // ALPN "acme-tls/1" for a name it lists is served with that name's challenge certificate.
  static std::shared_ptr<const TlsContext> load(const std::string& cert_file, const std::string& key_file,
                                                bool h2 = true, std::shared_ptr<AcmeChallenges> challenges = nullptr);
  // The same from PEM text in memory (a certificate just obtained, checked before it is stored).
  static std::shared_ptr<const TlsContext> from_pem(const std::string& chain_pem, const std::string& key_pem, bool h2,
                                                    std::shared_ptr<AcmeChallenges> challenges);
  // No certificate yet (one is being obtained): only challenges are answered.
  static std::shared_ptr<const TlsContext> without_certificate(bool h2, std::shared_ptr<AcmeChallenges> challenges);
  // A TLS-ALPN-01 challenge's context: that certificate, ALPN "acme-tls/1" only.
  static std::shared_ptr<const TlsContext> challenge(const std::string& cert_pem, const std::string& key_pem);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] ssl_ctx_st* native() const { return ctx_; }
  // The served certificate's subject (one line, RFC 2253) and its notAfter in seconds since
  // the epoch, for the start-up and reload log lines.
  [[nodiscard]] std::string subject() const;
  [[nodiscard]] std::int64_t not_after() const;
  [[nodiscard]] bool has_certificate() const;

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  static std::shared_ptr<TlsContext> make(bool h2, std::shared_ptr<AcmeChallenges> challenges);
  ssl_ctx_st* ctx_;
  std::shared_ptr<AcmeChallenges> challenges_;  // the client-hello callback's argument
};

class TlsSetupError final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "serving <subject>, valid until <date> (in N days)"; `warning` is set when it has expired or
// expires within 14 days (clients will refuse it).
[[nodiscard]] std::string describe_certificate(const TlsContext& ctx, std::int64_t now_unix, bool& warning);

// The context new connections are served with, read again from the same files on request
// (SIGHUP: a renewed certificate without a restart). Connections already open keep the one
// they started with. Thread-safe.
class TlsCertificates final {
 public:
  // Throws TlsSetupError (see TlsContext::load).
  TlsCertificates(std::string cert_file, std::string key_file, bool h2 = true);
  // Automatic certificates: none until install(); challenges answered meanwhile and after.
  TlsCertificates(bool h2, std::shared_ptr<AcmeChallenges> challenges);

  [[nodiscard]] std::shared_ptr<const TlsContext> current() const;
  // Reads the files again; new connections use them from now on. Throws TlsSetupError and
  // keeps the current context when they are not usable (or when there are no files yet).
  void reload();
  // Serves these files from now on (reload() reads them again). Throws TlsSetupError and
  // keeps the current context when they are not usable.
  void install(const std::string& cert_file, const std::string& key_file);
  // Serves `context`, built from what the files now hold (TlsContext::from_pem), from now on.
  void use(std::shared_ptr<const TlsContext> context, const std::string& cert_file, const std::string& key_file);
  [[nodiscard]] std::string cert_file() const;
  [[nodiscard]] bool h2() const { return h2_; }
  [[nodiscard]] const std::shared_ptr<AcmeChallenges>& challenges() const { return challenges_; }

 private:
  const bool h2_;
  const std::shared_ptr<AcmeChallenges> challenges_;
  // Held from reading files to serving what they gave: a reload cannot put back what an
  // install (a renewal) replaced meanwhile.
  std::mutex load_mutex_;
  mutable std::mutex mutex_;
  std::string cert_file_;
  std::string key_file_;
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace mercure
