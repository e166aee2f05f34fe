#include "http/tls_context.hpp"

#include "core/credential_files.hpp"
#include "http/acme_challenges.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstring>
#include <ctime>
#include <string_view>
#include <utility>

namespace mercure {

namespace {

void check_readable(const std::string& path, const char* what) {
  if (std::string why = unreadable_reason(path); !why.empty()) {
    throw TlsSetupError(std::string(what) + " \"" + path + "\": cannot read the file: " + why);
  }
}

// ALPN: "h2" when the client offers it and HTTP/2 is on (`arg` non-null), else "http/1.1".
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned in_len,
                void* arg) {
  static constexpr std::string_view kH2 = "h2";
  static constexpr std::string_view kHttp11 = "http/1.1";
  const unsigned char* http11 = nullptr;
  for (unsigned i = 0; i < in_len;) {
    const unsigned len = in[i];
    if (i + 1 + len > in_len) break;
    const std::string_view name(reinterpret_cast<const char*>(in + i + 1), len);
    if (name == kH2 && arg != nullptr) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    if (name == kHttp11) http11 = in + i + 1;
    i += 1 + len;
  }
  if (http11 == nullptr) return SSL_TLSEXT_ERR_NOACK;
  *out = http11;
  *out_len = static_cast<unsigned char>(kHttp11.size());
  return SSL_TLSEXT_ERR_OK;
}

int no_passphrase(char*, int, int, void*) {
  return -1;
}

constexpr std::string_view kAcmeTls = "acme-tls/1";

// The challenge context's ALPN: "acme-tls/1" (RFC 8737 section 3), which its client offers.
int select_acme_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned in_len,
                     void*) {
  for (unsigned i = 0; i < in_len;) {
    const unsigned len = in[i];
    if (i + 1 + len > in_len) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == kAcmeTls) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// The ALPN extension of a ClientHello offers "acme-tls/1" (a list of length-prefixed names
// after its own 2-byte length).
bool offers_acme_tls(const unsigned char* ext, std::size_t len) {
  if (len < 2) return false;
  const std::size_t list = (std::size_t{ext[0]} << 8) | ext[1];
  if (list + 2 != len) return false;
  for (std::size_t i = 2; i < len;) {
    const std::size_t n = ext[i];
    if (i + 1 + n > len) return false;
    if (std::string_view(reinterpret_cast<const char*>(ext + i + 1), n) == kAcmeTls) return true;
    i += 1 + n;
  }
  return false;
}

// The host name of a ClientHello's server_name extension, lower case; empty if none.
std::string sni_host(SSL* ssl) {
  const unsigned char* ext = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) != 1 || len < 5) return "";
  const std::size_t list = (std::size_t{ext[0]} << 8) | ext[1];
  if (list + 2 != len || ext[2] != TLSEXT_NAMETYPE_host_name) return "";
  const std::size_t n = (std::size_t{ext[3]} << 8) | ext[4];
  if (5 + n > len) return "";
  std::string host(reinterpret_cast<const char*>(ext + 5), n);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

// Client hello callback of the hub's contexts when certificates are obtained automatically: a
// validator of a pending TLS-ALPN-01 challenge gets the challenge's context; anyone else the
// hub's certificate.
int answer_challenge(SSL* ssl, int*, void* arg) {
  const auto* challenges = static_cast<const AcmeChallenges*>(arg);
  const unsigned char* ext = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext, &len) != 1 ||
      !offers_acme_tls(ext, len)) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  if (const auto ctx = challenges->find(sni_host(ssl))) SSL_set_SSL_CTX(ssl, ctx->native());
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

std::shared_ptr<TlsContext> TlsContext::make(bool h2, std::shared_ptr<AcmeChallenges> challenges) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) throw TlsSetupError("TLS: cannot create a context: " + openssl_reason("unknown error"));
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw));
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle event streams hold no record buffers (a few KiB each otherwise).
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  static int h2_on = 1;  // any non-null argument
  SSL_CTX_set_alpn_select_cb(raw, select_alpn, h2 ? &h2_on : nullptr);
  if (challenges) {
    SSL_CTX_set_client_hello_cb(raw, answer_challenge, challenges.get());
    ctx->challenges_ = std::move(challenges);
  }
  return ctx;
}

std::shared_ptr<const TlsContext> TlsContext::load(const std::string& cert_file, const std::string& key_file, bool h2,
                                                   std::shared_ptr<AcmeChallenges> challenges) {
  check_readable(cert_file, "CERT_FILE");
  check_readable(key_file, "KEY_FILE");
  auto ctx = make(h2, std::move(challenges));
  SSL_CTX* raw = ctx->ctx_;
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    throw TlsSetupError("CERT_FILE \"" + cert_file +
                        "\": not a PEM certificate chain: " + openssl_reason("unknown error"));
  }
  EVP_PKEY* key = nullptr;
  if (BIO* in = BIO_new_file(key_file.c_str(), "r"); in != nullptr) {
    // No passphrase prompt: an encrypted key fails here instead of waiting on the terminal.
    key = PEM_read_bio_PrivateKey(in, nullptr, no_passphrase, nullptr);
    BIO_free(in);
  }
  if (key == nullptr) {
    throw TlsSetupError("KEY_FILE \"" + key_file +
                        "\": not an unencrypted PEM private key: " + openssl_reason("unknown error"));
  }
  const int used = SSL_CTX_use_PrivateKey(raw, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(raw) != 1) {
    throw TlsSetupError("KEY_FILE \"" + key_file + "\": the key does not match the certificate in \"" + cert_file +
                        "\": " + openssl_reason("unknown error"));
  }
  return ctx;
}

std::shared_ptr<const TlsContext> TlsContext::from_pem(const std::string& chain_pem, const std::string& key_pem,
                                                       bool h2, std::shared_ptr<AcmeChallenges> challenges) {
  auto ctx = make(h2, std::move(challenges));
  SSL_CTX* raw = ctx->ctx_;
  BIO* in = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  X509* leaf = in != nullptr ? PEM_read_bio_X509_AUX(in, nullptr, nullptr, nullptr) : nullptr;
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(raw, leaf) == 1;
  X509_free(leaf);
  while (ok) {
    X509* ca = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
    if (ca == nullptr) break;
    if (SSL_CTX_add0_chain_cert(raw, ca) != 1) {
      X509_free(ca);
      ok = false;
    }
  }
  BIO_free(in);
  if (!ok) throw TlsSetupError("not a PEM certificate chain: " + openssl_reason("unknown error"));
  ERR_clear_error();  // the end of the chain
  EVP_PKEY* key = nullptr;
  if (BIO* key_in = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())); key_in != nullptr) {
    key = PEM_read_bio_PrivateKey(key_in, nullptr, no_passphrase, nullptr);
    BIO_free(key_in);
  }
  const bool key_ok = key != nullptr && SSL_CTX_use_PrivateKey(raw, key) == 1 && SSL_CTX_check_private_key(raw) == 1;
  EVP_PKEY_free(key);
  if (!key_ok) throw TlsSetupError("the key does not match the certificate: " + openssl_reason("unknown error"));
  return ctx;
}

std::shared_ptr<const TlsContext> TlsContext::without_certificate(bool h2, std::shared_ptr<AcmeChallenges> challenges) {
  return make(h2, std::move(challenges));
}

std::shared_ptr<const TlsContext> TlsContext::challenge(const std::string& cert_pem, const std::string& key_pem) {
  auto ctx = from_pem(cert_pem, key_pem, false, nullptr);
  SSL_CTX_set_alpn_select_cb(ctx->native(), select_acme_alpn, nullptr);
  return ctx;
}

bool TlsContext::has_certificate() const {
  return SSL_CTX_get0_certificate(ctx_) != nullptr;
}

std::string TlsContext::subject() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_);
  if (cert == nullptr) return "";
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return "";
  X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  std::string text(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(out);
  return text;
}

std::int64_t TlsContext::not_after() const {
  X509* cert = SSL_CTX_get0_certificate(ctx_);
  if (cert == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string describe_certificate(const TlsContext& ctx, std::int64_t now_unix, bool& warning) {
  constexpr std::int64_t kDay = 86'400;
  constexpr std::int64_t kWarnDays = 14;
  const std::int64_t until = ctx.not_after();
  const std::time_t t = static_cast<std::time_t>(until);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
  const std::int64_t left = until - now_unix;
  warning = left < kWarnDays * kDay;
  const auto days = [](std::int64_t seconds) {
    const std::int64_t n = seconds / kDay;
    return std::to_string(n) + (n == 1 ? " day" : " days");
  };
  std::string text = "serving \"" + ctx.subject() + "\", valid until " + date;
  if (left < 0) {
    text += " (EXPIRED " + days(-left) + " ago: clients will refuse it)";
  } else if (warning) {
    text += " (expires in " + days(left) + ": renew it, then send SIGHUP)";
  } else {
    text += " (in " + days(left) + ")";
  }
  return text;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}  // sessions still open hold a reference of their own

TlsCertificates::TlsCertificates(std::string cert_file, std::string key_file, bool h2)
    : h2_(h2),
      cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      current_(TlsContext::load(cert_file_, key_file_, h2_)) {}

TlsCertificates::TlsCertificates(bool h2, std::shared_ptr<AcmeChallenges> challenges)
    : h2_(h2), challenges_(std::move(challenges)), current_(TlsContext::without_certificate(h2_, challenges_)) {}

std::shared_ptr<const TlsContext> TlsCertificates::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

std::string TlsCertificates::cert_file() const {
  const std::lock_guard lock(mutex_);
  return cert_file_;
}

void TlsCertificates::reload() {
  const std::lock_guard loading(load_mutex_);
  std::string cert_file;
  std::string key_file;
  {
    const std::lock_guard lock(mutex_);
    cert_file = cert_file_;
    key_file = key_file_;
  }
  if (cert_file.empty()) throw TlsSetupError("no certificate obtained yet");
  auto fresh = TlsContext::load(cert_file, key_file, h2_, challenges_);  // outside mutex_: it reads files
  const std::lock_guard lock(mutex_);
  current_ = std::move(fresh);
}

void TlsCertificates::install(const std::string& cert_file, const std::string& key_file) {
  const std::lock_guard loading(load_mutex_);
  auto fresh = TlsContext::load(cert_file, key_file, h2_, challenges_);  // outside mutex_: it reads files
  const std::lock_guard lock(mutex_);
  cert_file_ = cert_file;
  key_file_ = key_file;
  current_ = std::move(fresh);
}

void TlsCertificates::use(std::shared_ptr<const TlsContext> context, const std::string& cert_file,
                          const std::string& key_file) {
  const std::lock_guard loading(load_mutex_);
  const std::lock_guard lock(mutex_);
  cert_file_ = cert_file;
  key_file_ = key_file;
  current_ = std::move(context);
}

}  // namespace mercure
