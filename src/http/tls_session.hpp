#pragma once
// One TLS connection's state, without a socket: ciphertext from the peer is put in with
// input_space()/commit_input(), and every call that produces records (the handshake, a
// write, a reply to a key update, the closing alert) appends them to a string the caller
// passes and then sends. The request phase (http_stream.hpp) and the event stream
// (sse_connection.hpp) drive the same session, so a subscribe request's connection keeps its
// TLS state when the reactor takes the socket over.
//
// Nothing is buffered on the way out: an idle session holds OpenSSL's state (record buffers
// are released while idle) and the ciphertext it was given but has not decrypted yet.
//
// One thread at a time.

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;
struct bio_st;

namespace mercure {

class TlsContext;

class TlsSession final {
 public:
  enum class Status {
    ok,         // done (a read: some plaintext was read)
    want_read,  // needs more ciphertext from the peer (send what was appended first)
    closed,     // the peer sent its closing alert
    failed,     // a protocol error: error() says which; the connection must end
  };

  // Nullptr when OpenSSL cannot allocate the session.
  static std::unique_ptr<TlsSession> create(const TlsContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Room for `n` bytes of ciphertext read from the socket, then how many were put there.
  std::span<char> input_space(std::size_t n);
  void commit_input(std::size_t n);
  // Ciphertext given and not processed yet.
  [[nodiscard]] std::size_t input_pending() const { return in_.size() - in_offset_; }
  // The first bytes the peer sent (before the handshake began), for telling TLS from plain HTTP.
  [[nodiscard]] std::string_view input() const { return std::string_view(in_).substr(in_offset_); }

  // Advances the server handshake; its records are appended to `out`.
  Status handshake(std::string& out);
  [[nodiscard]] bool handshake_done() const;
  // The handshake chose HTTP/2 (ALPN "h2").
  [[nodiscard]] bool negotiated_h2() const;
  // Decrypts up to `size` bytes into `data` (`read` = how many). Records the session must send
  // in reply (TLS 1.3 key update) are appended to `out`.
  Status read(char* data, std::size_t size, std::size_t& read, std::string& out);
  // Encrypts `plain` (gathered: one write, records of up to 16 KiB) and appends the records to
  // `out`. False on a failure of the session (the connection must end).
  bool write(std::span<const iovec> plain, std::size_t total, std::string& out);
  bool write(std::string_view plain, std::string& out);
  // Gives back OpenSSL's record buffers while they are empty (an idle event stream keeps none).
  void release_buffers();
  // Appends the closing alert (close_notify) to `out`.
  void close(std::string& out);

  // What the last failed call failed with, e.g. "wrong version number".
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  TlsSession(ssl_st* ssl, bio_st* bio);
  Status status_of(int ret);
  void drop_consumed_input();

  friend struct TlsBio;
  ssl_st* ssl_;
  bio_st* bio_;
  std::string* sink_ = nullptr;  // where records go during a call
  std::string in_;
  std::size_t in_offset_ = 0;
  std::size_t reserved_ = 0;  // bytes of in_ handed out by input_space() and not committed
  std::string error_;
};

}  // namespace mercure
