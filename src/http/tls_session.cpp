#include "http/tls_session.hpp"

#include "core/credential_files.hpp"

#include "http/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace mercure {

// The session's only BIO, both ways: reads take the ciphertext given to the session, writes
// append to the caller's string (never blocking, so SSL_write never asks to be retried).
struct TlsBio {
  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mercure tls session");
      BIO_meth_set_write_ex(meth, write_ex);
      BIO_meth_set_read_ex(meth, read_ex);
      BIO_meth_set_ctrl(meth, ctrl);
      BIO_meth_set_create(meth, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
      return meth;
    }();
    return m;
  }

  static int write_ex(BIO* b, const char* data, std::size_t n, std::size_t* written) {
    BIO_clear_retry_flags(b);
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    if (s == nullptr || s->sink_ == nullptr) return 0;  // a write outside a call: refused
    s->sink_->append(data, n);
    *written = n;
    return 1;
  }

  static int read_ex(BIO* b, char* data, std::size_t n, std::size_t* read) {
    BIO_clear_retry_flags(b);
    auto* s = static_cast<TlsSession*>(BIO_get_data(b));
    const std::size_t available = s == nullptr ? 0 : s->in_.size() - s->in_offset_;
    if (available == 0) {
      BIO_set_retry_read(b);
      return 0;
    }
    const std::size_t k = std::min(n, available);
    std::memcpy(data, s->in_.data() + s->in_offset_, k);
    s->in_offset_ += k;
    *read = k;
    return 1;
  }

  static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
};

namespace {

// Points the session's BIO at the caller's string for the duration of one call.
class SinkScope {
 public:
  SinkScope(std::string*& sink, std::string& out) : sink_(sink) {
    sink_ = &out;
    ERR_clear_error();
  }
  ~SinkScope() { sink_ = nullptr; }
  SinkScope(const SinkScope&) = delete;
  SinkScope& operator=(const SinkScope&) = delete;

 private:
  std::string*& sink_;
};

}  // namespace

std::unique_ptr<TlsSession> TlsSession::create(const TlsContext& context) {
  SSL* ssl = SSL_new(context.native());
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(TlsBio::method());
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_bio(ssl, bio, bio);  // one reference, both ways: owned by the SSL from here
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsSession>(new TlsSession(ssl, bio));
}

TlsSession::TlsSession(ssl_st* ssl, bio_st* bio) : ssl_(ssl), bio_(bio) {
  BIO_set_data(bio_, this);
}

TlsSession::~TlsSession() {
  BIO_set_data(bio_, nullptr);
  SSL_free(ssl_);
}

std::span<char> TlsSession::input_space(std::size_t n) {
  drop_consumed_input();
  const std::size_t old = in_.size();
  in_.resize(old + n);
  reserved_ = n;
  return {in_.data() + old, n};
}

void TlsSession::commit_input(std::size_t n) {
  in_.resize(in_.size() - (reserved_ - std::min(n, reserved_)));
  reserved_ = 0;
}

void TlsSession::drop_consumed_input() {
  if (in_offset_ == 0) return;
  if (in_offset_ == in_.size()) {
    // Given back: an idle event stream keeps no input buffer.
    std::string().swap(in_);
  } else {
    in_.erase(0, in_offset_);
  }
  in_offset_ = 0;
}

TlsSession::Status TlsSession::status_of(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      drop_consumed_input();
      return Status::want_read;
    case SSL_ERROR_ZERO_RETURN:
      return Status::closed;
    default: {
      error_ = openssl_reason("TLS protocol error");
      return Status::failed;
    }
  }
}

TlsSession::Status TlsSession::handshake(std::string& out) {
  SinkScope scope(sink_, out);
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) return Status::ok;
  return status_of(ret);
}

bool TlsSession::handshake_done() const {
  return SSL_is_init_finished(ssl_) == 1;
}

bool TlsSession::negotiated_h2() const {
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

TlsSession::Status TlsSession::read(char* data, std::size_t size, std::size_t& read, std::string& out) {
  SinkScope scope(sink_, out);
  read = 0;
  const int ret = SSL_read_ex(ssl_, data, size, &read);
  if (ret == 1) return Status::ok;
  return status_of(ret);
}

bool TlsSession::write(std::span<const iovec> plain, std::size_t total, std::string& out) {
  if (plain.size() == 1) return write(std::string_view(static_cast<const char*>(plain[0].iov_base), total), out);
  thread_local std::string gathered;
  gathered.clear();
  gathered.reserve(total);
  for (const auto& v : plain) gathered.append(static_cast<const char*>(v.iov_base), v.iov_len);
  const bool ok = write(std::string_view(gathered), out);
  if (gathered.capacity() > 1024 * 1024) std::string().swap(gathered);
  return ok;
}

bool TlsSession::write(std::string_view plain, std::string& out) {
  if (plain.empty()) return true;
  SinkScope scope(sink_, out);
  std::size_t written = 0;
  const int ret = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  if (ret == 1 && written == plain.size()) return true;
  status_of(ret);
  return false;
}

void TlsSession::release_buffers() {
  SSL_free_buffers(ssl_);  // kept when they hold data
  drop_consumed_input();
  if (in_.empty()) std::string().swap(in_);
}

void TlsSession::close(std::string& out) {
  SinkScope scope(sink_, out);
  if (SSL_is_init_finished(ssl_) == 1) SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace mercure
