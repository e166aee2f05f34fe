#pragma once
// The hub's TLS configuration: one OpenSSL SSL_CTX built at start-up from a PEM certificate
// chain and a PEM private key (CERT_FILE / KEY_FILE), shared read-only by every shard.
// TLS 1.2 and 1.3 only, no renegotiation; ALPN answers "h2" when the client offers it and HTTP/2
// is on, else "http/1.1" when offered, and no protocol otherwise.
//
// Thread-safe once built: sessions are created from it on any shard.

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

struct ssl_ctx_st;

namespace mercure {

class TlsContext final {
 public:
  // Throws TlsSetupError, naming the file and what is wrong with it (never its contents):
  // missing or unreadable, not PEM, no certificate or key in it, a key that is not the
  // certificate's.
  // `h2`: ALPN may choose HTTP/2.
  static std::shared_ptr<const TlsContext> load(const std::string& cert_file, const std::string& key_file,
                                                bool h2 = true);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] ssl_ctx_st* native() const { return ctx_; }
  // The served certificate's subject (one line, RFC 2253) and its notAfter in seconds since
  // the epoch, for the start-up and reload log lines.
  [[nodiscard]] std::string subject() const;
  [[nodiscard]] std::int64_t not_after() const;

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
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

  [[nodiscard]] std::shared_ptr<const TlsContext> current() const;
  // Reads the files again; new connections use them from now on. Throws TlsSetupError and
  // keeps the current context when they are not usable.
  void reload();
  [[nodiscard]] const std::string& cert_file() const { return cert_file_; }

 private:
  const std::string cert_file_;
  const std::string key_file_;
  const bool h2_;
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> current_;
};

}  // namespace mercure
