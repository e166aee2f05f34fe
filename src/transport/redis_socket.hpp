#pragma once
// The byte stream under a RedisConnection: a TCP connection (keep-alive, no Nagle), with TLS
// on top for rediss:// (OpenSSL; the server's certificate verified as RedisOptions::Tls says).
// The socket is non-blocking; every read and write waits with poll() for at most the timeout
// given, counted from the last progress, so a silent server never holds a thread for longer.
//
// Errors are one line without the server's name (the connection adds it): "Connection
// refused", "timed out", "TLS handshake failed: certificate verify failed (self-signed
// certificate)", "cannot read tls_ca_file \"/x\": ...".
//
// Thread-safety: one thread uses a socket at a time, except interrupt(), which another thread
// may call while that one waits (it shuts the socket down; the wait returns).

#include "core/error.hpp"
#include "transport/redis_options.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;

namespace mercure {

class RedisSocket final {
 public:
  // Resolves and connects to options.host:port (each address in turn), then does the TLS
  // handshake when options.tls is set; `timeout` bounds each step.
  [[nodiscard]] static Result<std::unique_ptr<RedisSocket>> connect(const RedisOptions& options,
                                                                    std::chrono::milliseconds timeout);
  ~RedisSocket();
  RedisSocket(const RedisSocket&) = delete;
  RedisSocket& operator=(const RedisSocket&) = delete;

  // Writes all of `data`.
  [[nodiscard]] Result<void> write_all(std::string_view data, std::chrono::milliseconds timeout);
  // Reads what is there (at least one byte, at most `capacity`); an error when the server
  // closed the connection.
  [[nodiscard]] Result<std::size_t> read_some(char* buffer, std::size_t capacity, std::chrono::milliseconds timeout);
  // Whether the server sent anything (or closed) while the connection should be idle; TLS
  // records that carry no data (a TLS 1.3 session ticket) do not count. Does not wait.
  [[nodiscard]] bool has_input_or_closed();
  void interrupt() noexcept;

 private:
  explicit RedisSocket(int fd) : fd_(fd) {}
  Result<void> handshake(const RedisOptions& options, std::chrono::milliseconds timeout);
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT); an error after `timeout`.
  Result<void> wait(short events, std::chrono::milliseconds timeout);
  // The error of a failed SSL_* call that returned `ret` (after the queue of OpenSSL's errors).
  Error tls_failure(int ret, std::string_view doing);

  const int fd_;
  ssl_ctx_st* context_ = nullptr;
  ssl_st* ssl_ = nullptr;
};

}  // namespace mercure
