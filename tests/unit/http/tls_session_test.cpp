// TlsContext and TlsSession against an OpenSSL client over memory BIOs: no sockets.

#include "http/tls_session.hpp"
#include "http/tls_context.hpp"

#include "../transport/temp_dir.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

using Status = TlsSession::Status;

EVP_PKEY* new_key() {
  return EVP_EC_gen("P-256");
}

void write_key(const std::string& path, EVP_PKEY* key, const char* passphrase = nullptr) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  const EVP_CIPHER* cipher = passphrase != nullptr ? EVP_aes_128_cbc() : nullptr;
  auto* pass = reinterpret_cast<unsigned char*>(const_cast<char*>(passphrase));
  const int len = passphrase != nullptr ? static_cast<int>(std::strlen(passphrase)) : 0;
  ASSERT_EQ(PEM_write_PrivateKey(f, key, cipher, pass, len, nullptr, nullptr), 1);
  std::fclose(f);
}

// A self-signed certificate for "localhost" and its key, as PEM files.
struct Credentials {
  test::TempDir dir;
  std::string cert = dir.sub("cert.pem");
  std::string key = dir.sub("key.pem");

  Credentials() { write(1); }

  // (Re)writes both files: a new key and a certificate with this serial number.
  void write(long serial) {
    EVP_PKEY* pkey = new_key();
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    write_key(key, pkey);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
};

// An OpenSSL client over memory BIOs, wired to a TlsSession by pump().
class Pair {
 public:
  explicit Pair(const TlsContext& ctx, std::vector<std::string> alpn = {}) : server_(TlsSession::create(ctx)) {
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_NONE, nullptr);
    if (!alpn.empty()) {
      std::string wire;
      for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
      SSL_CTX_set_alpn_protos(client_ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size()));
    }
    client_ = SSL_new(client_ctx_);
    to_client_ = BIO_new(BIO_s_mem());
    from_client_ = BIO_new(BIO_s_mem());
    SSL_set_bio(client_, to_client_, from_client_);
    SSL_set_connect_state(client_);
  }
  ~Pair() {
    SSL_free(client_);
    SSL_CTX_free(client_ctx_);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  TlsSession& server() { return *server_; }
  SSL* client() { return client_; }

  // Moves the client's bytes into the session `chunk` bytes at a time.
  void client_to_server(std::size_t chunk = 1 << 20) {
    std::vector<char> buf(chunk);
    for (;;) {
      const int n = BIO_read(from_client_, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) return;
      auto space = server_->input_space(static_cast<std::size_t>(n));
      std::memcpy(space.data(), buf.data(), static_cast<std::size_t>(n));
      server_->commit_input(static_cast<std::size_t>(n));
    }
  }
  void server_to_client(const std::string& records) {
    if (!records.empty()) BIO_write(to_client_, records.data(), static_cast<int>(records.size()));
  }

  // Runs both handshakes to the end (or until the server fails).
  Status handshake(std::size_t chunk = 1 << 20) {
    for (int round = 0; round < 100; ++round) {
      SSL_do_handshake(client_);
      client_to_server(chunk);
      std::string out;
      const Status s = server_->handshake(out);
      server_to_client(out);
      if (s == Status::failed) return s;
      if (s == Status::ok && SSL_is_init_finished(client_) == 1) return s;
    }
    return Status::want_read;
  }

  // Everything the client can decrypt now.
  std::string client_read() {
    std::string got;
    char buf[4096];
    std::size_t n = 0;
    while (SSL_read_ex(client_, buf, sizeof buf, &n) == 1) got.append(buf, n);
    return got;
  }
  // Everything the server can decrypt now.
  std::string server_read(Status& last) {
    std::string got;
    char buf[1000];
    for (;;) {
      std::size_t n = 0;
      std::string reply;
      last = server_->read(buf, sizeof buf, n, reply);
      server_to_client(reply);
      if (last != Status::ok) return got;
      got.append(buf, n);
    }
  }

 private:
  std::unique_ptr<TlsSession> server_;
  SSL_CTX* client_ctx_ = nullptr;
  SSL* client_ = nullptr;
  BIO* to_client_ = nullptr;
  BIO* from_client_ = nullptr;
};

TEST(TlsSession, HandshakeThenBytesBothWaysIntact) {
  Credentials creds;
  auto ctx = TlsContext::load(creds.cert, creds.key);
  Pair pair(*ctx);
  ASSERT_EQ(pair.handshake(), Status::ok);
  EXPECT_TRUE(pair.server().handshake_done());

  const std::string request = "GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(SSL_write(pair.client(), request.data(), static_cast<int>(request.size())),
            static_cast<int>(request.size()));
  pair.client_to_server();
  Status last{};
  EXPECT_EQ(pair.server_read(last), request);
  EXPECT_EQ(last, Status::want_read);
  EXPECT_EQ(pair.server().input_pending(), 0u);

  // Gathered frames, larger than one record, come out as the same bytes in order.
  std::string a(70'000, 'a'), b = "id: 1\ndata: x\n\n", c(20'000, 'c');
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>('a' + i % 26);
  const iovec parts[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  std::string records;
  ASSERT_TRUE(pair.server().write(parts, a.size() + b.size() + c.size(), records));
  EXPECT_GT(records.size(), a.size() + b.size() + c.size());  // framing and tags, not plaintext
  EXPECT_EQ(records.find(b), std::string::npos);
  pair.server_to_client(records);
  EXPECT_EQ(pair.client_read(), a + b + c);
}

TEST(TlsSession, HandshakeFedOneByteAtATime) {
  Credentials creds;
  auto ctx = TlsContext::load(creds.cert, creds.key);
  Pair pair(*ctx);
  ASSERT_EQ(pair.handshake(1), Status::ok);
  std::string records;
  ASSERT_TRUE(pair.server().write(std::string_view("hello"), records));
  pair.server_to_client(records);
  EXPECT_EQ(pair.client_read(), "hello");
}

TEST(TlsSession, ClosingAlertsBothWays) {
  Credentials creds;
  auto ctx = TlsContext::load(creds.cert, creds.key);
  {
    Pair pair(*ctx);
    ASSERT_EQ(pair.handshake(), Status::ok);
    SSL_shutdown(pair.client());
    pair.client_to_server();
    Status last{};
    EXPECT_EQ(pair.server_read(last), "");
    EXPECT_EQ(last, Status::closed);
  }
  {
    Pair pair(*ctx);
    ASSERT_EQ(pair.handshake(), Status::ok);
    std::string records;
    pair.server().close(records);
    EXPECT_FALSE(records.empty());
    pair.server_to_client(records);
    char buf[16];
    std::size_t n = 0;
    EXPECT_EQ(SSL_read_ex(pair.client(), buf, sizeof buf, &n), 0);
    EXPECT_EQ(SSL_get_error(pair.client(), 0), SSL_ERROR_ZERO_RETURN);
  }
}

TEST(TlsSession, GarbageFailsTheHandshakeWithAReason) {
  Credentials creds;
  auto ctx = TlsContext::load(creds.cert, creds.key);
  auto session = TlsSession::create(*ctx);
  const std::string junk("\x16\x7f\x7f\x00\x05hello, not a client hello", 29);
  auto space = session->input_space(junk.size());
  std::memcpy(space.data(), junk.data(), junk.size());
  session->commit_input(junk.size());
  std::string out;
  EXPECT_EQ(session->handshake(out), Status::failed);
  EXPECT_FALSE(session->error().empty());
  EXPECT_FALSE(session->handshake_done());
}

TEST(TlsSession, PlainHttpIsVisibleBeforeTheHandshake) {
  Credentials creds;
  auto ctx = TlsContext::load(creds.cert, creds.key);
  auto session = TlsSession::create(*ctx);
  const std::string req = "GET / HTTP/1.1\r\n\r\n";
  auto space = session->input_space(64);
  std::memcpy(space.data(), req.data(), req.size());
  session->commit_input(req.size());  // fewer than were made room for
  EXPECT_EQ(session->input(), req);
  EXPECT_EQ(session->input_pending(), req.size());
}

TEST(TlsSession, AlpnPrefersH2WhenOnElseHttp11OrNothing) {
  Credentials creds;
  auto with_h2 = TlsContext::load(creds.cert, creds.key, true);
  auto h1_only = TlsContext::load(creds.cert, creds.key, false);
  auto selected = [](SSL* ssl) {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    return std::string(reinterpret_cast<const char*>(p), len);
  };
  struct Case {
    const TlsContext* ctx;
    std::vector<std::string> offered;
    std::string chosen;
  };
  for (const Case& c : {Case{with_h2.get(), {"http/1.1", "h2"}, "h2"}, Case{with_h2.get(), {"h2"}, "h2"},
                        Case{with_h2.get(), {"http/1.1"}, "http/1.1"}, Case{with_h2.get(), {"spdy/3"}, ""},
                        Case{h1_only.get(), {"h2", "http/1.1"}, "http/1.1"}, Case{h1_only.get(), {"h2"}, ""}}) {
    Pair pair(*c.ctx, c.offered);
    ASSERT_EQ(pair.handshake(), Status::ok);
    EXPECT_EQ(selected(pair.client()), c.chosen) << c.offered.front();
    // The server's side of the same answer, as serve_connection reads it.
    EXPECT_EQ(pair.server().negotiated_h2(), c.chosen == "h2");
  }
}

long served_serial(const TlsContext& ctx) {
  return ASN1_INTEGER_get(X509_get0_serialNumber(SSL_CTX_get0_certificate(ctx.native())));
}

TEST(TlsCertificates, ReloadServesTheNewFilesOrKeepsTheOldOnes) {
  Credentials creds;
  TlsCertificates certs(creds.cert, creds.key);
  const auto first = certs.current();
  EXPECT_EQ(served_serial(*first), 1);

  creds.write(2);
  certs.reload();
  EXPECT_EQ(served_serial(*certs.current()), 2);
  EXPECT_EQ(served_serial(*first), 1);  // what open connections use is untouched
  Pair pair(*first);
  EXPECT_EQ(pair.handshake(), Status::ok);

  std::ofstream(creds.key) << "truncated\n";
  EXPECT_THROW(certs.reload(), TlsSetupError);
  EXPECT_EQ(served_serial(*certs.current()), 2);
}

TEST(TlsContext, DescribesTheCertificateAndWarnsBeforeItExpires) {
  Credentials creds;
  const auto ctx = TlsContext::load(creds.cert, creds.key);
  EXPECT_EQ(ctx->subject(), "CN=localhost");
  const std::int64_t until = ctx->not_after();
  const std::int64_t now = std::time(nullptr);
  EXPECT_GT(until, now + 3000);  // an hour from the certificate's creation
  EXPECT_LT(until, now + 3700);
  constexpr std::int64_t kDay = 86'400;
  bool warning = true;
  auto text = describe_certificate(*ctx, until - 30 * kDay - 60, warning);
  EXPECT_FALSE(warning);
  EXPECT_NE(text.find("serving \"CN=localhost\", valid until "), std::string::npos) << text;
  EXPECT_NE(text.find("(in 30 days)"), std::string::npos) << text;
  text = describe_certificate(*ctx, until - 3 * kDay - 60, warning);
  EXPECT_TRUE(warning);
  EXPECT_NE(text.find("expires in 3 days"), std::string::npos) << text;
  text = describe_certificate(*ctx, until + 2 * kDay + 60, warning);
  EXPECT_TRUE(warning);
  EXPECT_NE(text.find("EXPIRED 2 days ago"), std::string::npos) << text;
}

std::string tls_load_error(const std::string& cert, const std::string& key) {
  try {
    TlsContext::load(cert, key);
  } catch (const TlsSetupError& e) {
    return e.what();
  }
  return "";
}

TEST(TlsContext, RefusesBadFilesNamingThem) {
  Credentials creds;
  const std::string missing = creds.dir.sub("missing.pem");
  auto error = tls_load_error(missing, creds.key);
  EXPECT_NE(error.find("CERT_FILE \"" + missing + "\": cannot read"), std::string::npos) << error;
  error = tls_load_error(creds.cert, missing);
  EXPECT_NE(error.find("KEY_FILE \"" + missing + "\": cannot read"), std::string::npos) << error;

  error = tls_load_error(creds.dir.path().string(), creds.key);
  EXPECT_NE(error.find("it is a directory"), std::string::npos) << error;

  const std::string text = creds.dir.sub("text.pem");
  std::ofstream(text) << "not a certificate\n";
  error = tls_load_error(text, creds.key);
  EXPECT_NE(error.find("CERT_FILE \"" + text + "\": not a PEM certificate"), std::string::npos) << error;
  error = tls_load_error(creds.cert, text);
  EXPECT_NE(error.find("KEY_FILE \"" + text + "\": not an unencrypted PEM private key"), std::string::npos) << error;
  // A certificate given as the key: no key in it.
  error = tls_load_error(creds.cert, creds.cert);
  EXPECT_NE(error.find("KEY_FILE \"" + creds.cert + "\""), std::string::npos) << error;

  EVP_PKEY* other = new_key();
  const std::string other_key = creds.dir.sub("other.pem");
  write_key(other_key, other);
  error = tls_load_error(creds.cert, other_key);
  EXPECT_NE(error.find("does not match the certificate"), std::string::npos) << error;
  // An encrypted key fails at once (no passphrase prompt on the terminal).
  const std::string encrypted = creds.dir.sub("encrypted.pem");
  write_key(encrypted, other, "secret");
  EVP_PKEY_free(other);
  error = tls_load_error(creds.cert, encrypted);
  EXPECT_NE(error.find("KEY_FILE \"" + encrypted + "\": not an unencrypted PEM private key"), std::string::npos)
      << error;
  // Never the key's text.
  EXPECT_EQ(error.find("BEGIN"), std::string::npos);

  EXPECT_EQ(tls_load_error(creds.cert, creds.key), "");
}

}  // namespace
}  // namespace mercure
