#include "transport/redis_socket.hpp"

#include "core/credential_files.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace mercure {

namespace {

Error unavailable(std::string reason) {
  return Error{Errc::unavailable, std::move(reason)};
}

std::string errno_text(int error) {
  return std::strerror(error);
}

// No passphrase prompt: an encrypted key fails at once instead of waiting on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

bool is_ip_address(const std::string& name) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, name.c_str(), &v4) == 1 || inet_pton(AF_INET6, name.c_str(), &v6) == 1;
}

void tune(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  // A peer gone without a word (a cut network) is noticed in about 30 s instead of hours.
  const int idle = 15;
  const int interval = 5;
  const int count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

int poll_for(int fd, short events, std::chrono::milliseconds timeout, short& revents) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, events, 0};
    const int n =
        ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, std::min<std::int64_t>(left.count(), INT_MAX))));
    if (n < 0 && errno == EINTR) continue;
    revents = p.revents;
    return n;
  }
}

// One non-blocking connect to `ai`, waited for at most `timeout`; the socket, or -1 with `error`.
int connect_one(const addrinfo& ai, std::chrono::milliseconds timeout, std::string& error) {
  const int fd = ::socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text(errno);
    return -1;
  }
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    error = errno_text(errno);
    ::close(fd);
    return -1;
  }
  short revents = 0;
  const int n = poll_for(fd, POLLOUT, timeout, revents);
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (n == 0) {
    error = "timed out";
  } else if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
    error = errno_text(errno);
  } else if (so_error != 0) {
    error = errno_text(so_error);
  } else {
    return fd;
  }
  ::close(fd);
  return -1;
}

}  // namespace

Result<std::unique_ptr<RedisSocket>> RedisSocket::connect(const RedisOptions& options,
                                                          std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (const int rc = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unavailable(std::string("cannot resolve the host: ") +
                       (rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc)));
  }
  std::string error = "no address";
  int fd = -1;
  for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) fd = connect_one(*ai, timeout, error);
  ::freeaddrinfo(found);
  if (fd < 0) return unavailable(error);
  tune(fd);
  std::unique_ptr<RedisSocket> socket(new RedisSocket(fd));
  if (options.tls) {
    if (auto done = socket->handshake(options, timeout); !done) return done.error();
  }
  return socket;
}

RedisSocket::~RedisSocket() {
  if (ssl_ != nullptr) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // close_notify, best effort (non-blocking: no wait for the server's)
    SSL_free(ssl_);
  }
  if (context_ != nullptr) SSL_CTX_free(context_);
  ::close(fd_);
  ERR_clear_error();
}

Result<void> RedisSocket::handshake(const RedisOptions& options, std::chrono::milliseconds timeout) {
  const RedisOptions::Tls& tls = *options.tls;
  ERR_clear_error();
  context_ = SSL_CTX_new(TLS_client_method());
  if (context_ == nullptr) return unavailable("TLS: " + openssl_reason("cannot create a context"));
  SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(context_, no_passphrase);
  for (const auto& [path, what] : {std::pair{&tls.ca_file, "tls_ca_file"}, std::pair{&tls.cert_file, "tls_cert_file"},
                                   std::pair{&tls.key_file, "tls_key_file"}}) {
    if (path->empty()) continue;
    if (std::string why = unreadable_reason(*path); !why.empty()) {
      return unavailable(std::string("TLS: cannot read ") + what + " \"" + *path + "\": " + why);
    }
  }
  if (tls.insecure_skip_verify) {
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    if (!tls.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(context_, tls.ca_file.c_str(), nullptr) != 1) {
        return unavailable("TLS: tls_ca_file \"" + tls.ca_file +
                           "\": not a PEM file of certificates: " + openssl_reason("no certificate"));
      }
    } else if (SSL_CTX_set_default_verify_paths(context_) != 1) {
      return unavailable("TLS: cannot load the system's trusted CAs: " + openssl_reason("unknown error"));
    }
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context_, tls.cert_file.c_str()) != 1) {
      return unavailable("TLS: tls_cert_file \"" + tls.cert_file +
                         "\": not a PEM certificate chain: " + openssl_reason("no certificate"));
    }
    // The key file's content is never quoted in the message (it is a secret).
    if (SSL_CTX_use_PrivateKey_file(context_, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string reason = openssl_reason("no key");
      if (reason != "key values mismatch") {
        return unavailable("TLS: tls_key_file \"" + tls.key_file + "\": not an unencrypted PEM private key: " + reason);
      }
    }
    if (SSL_CTX_check_private_key(context_) != 1) {
      return unavailable("TLS: tls_key_file \"" + tls.key_file + "\" is not the key of tls_cert_file \"" +
                         tls.cert_file + "\"");
    }
  }
  ssl_ = SSL_new(context_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1)
    return unavailable("TLS: " + openssl_reason("cannot create a session"));
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const std::string& name = tls.server_name.empty() ? options.host : tls.server_name;
  const bool ip = is_ip_address(name);
  if (!ip) SSL_set_tlsext_host_name(ssl_, name.c_str());
  if (!tls.insecure_skip_verify) {
    const int set =
        ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str()) : SSL_set1_host(ssl_, name.c_str());
    if (set != 1) return unavailable("TLS: cannot check the certificate for \"" + name + "\"");
  }
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl_);
    if (r == 1) return {};
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (auto ready = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout); !ready) {
        return unavailable("TLS handshake failed: " + ready.error().reason);
      }
      continue;
    }
    const long verified = tls.insecure_skip_verify ? X509_V_OK : SSL_get_verify_result(ssl_);
    if (verified != X509_V_OK) {
      ERR_clear_error();
      return unavailable(std::string("TLS handshake failed: certificate verify failed (") +
                         X509_verify_cert_error_string(verified) + ") for \"" + name + "\"");
    }
    return unavailable("TLS handshake failed: " + tls_failure(r, "handshake").reason);
  }
}

Error RedisSocket::tls_failure(int ret, std::string_view doing) {
  const int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_ZERO_RETURN) return unavailable("the server closed the connection");
  if (e == SSL_ERROR_SYSCALL) {
    const int error = errno;
    const std::string reason = openssl_reason("");
    if (!reason.empty()) return unavailable(reason);
    if (ret == 0 || error == 0) return unavailable("the server closed the connection");
    return unavailable(errno_text(error));
  }
  return unavailable(openssl_reason(std::string(doing) + " failed"));
}

Result<void> RedisSocket::wait(short events, std::chrono::milliseconds timeout) {
  short revents = 0;
  const int n = poll_for(fd_, events, timeout, revents);
  if (n < 0) return unavailable(errno_text(errno));
  if (n == 0) return unavailable("timed out");
  return {};  // ready, hung up or failed: the next call tells which
}

Result<void> RedisSocket::write_all(std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    const std::size_t chunk = std::min<std::size_t>(data.size(), INT_MAX);
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int r = SSL_write(ssl_, data.data(), static_cast<int>(chunk));
      if (r > 0) {
        data.remove_prefix(static_cast<std::size_t>(r));
        continue;
      }
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return tls_failure(r, "write");
      if (auto ready = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout); !ready) return ready.error();
      continue;
    }
    const ssize_t n = ::send(fd_, data.data(), chunk, MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto ready = wait(POLLOUT, timeout); !ready) return ready.error();
    } else {
      return unavailable(errno_text(errno));
    }
  }
  return {};
}

Result<std::size_t> RedisSocket::read_some(char* buffer, std::size_t capacity, std::chrono::milliseconds timeout) {
  const std::size_t chunk = std::min<std::size_t>(capacity, INT_MAX);
  for (;;) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int r = SSL_read(ssl_, buffer, static_cast<int>(chunk));
      if (r > 0) return static_cast<std::size_t>(r);
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return tls_failure(r, "read");
      if (auto ready = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout); !ready) return ready.error();
      continue;
    }
    const ssize_t n = ::recv(fd_, buffer, chunk, 0);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return unavailable("the server closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return unavailable(errno_text(errno));
    if (auto ready = wait(POLLIN, timeout); !ready) return ready.error();
  }
}

bool RedisSocket::has_input_or_closed() {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) == 0) return false;
  if (ssl_ == nullptr || (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) return true;
  // Readable over TLS: a record without data (a session ticket) is consumed and not input.
  char byte = 0;
  ERR_clear_error();
  const int r = SSL_read(ssl_, &byte, 1);
  const bool nothing = r <= 0 && SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ;
  ERR_clear_error();
  return !nothing;
}

void RedisSocket::interrupt() noexcept {
  ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace mercure
