#pragma once
// A connection's bytes during its request phase: a beast::tcp_stream (its expiry bounds every
// wait) with, on a TLS listener, a TlsSession in between. serve_connection and the handlers
// read and write through it and never see the difference; a subscribe request hands the
// socket and the session over to the shard's SseReactor (release_tls()).
//
// Shard thread only; one read and one write at a time.

#include "http/http_types.hpp"
#include "http/tls_session.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace mercure {

class TlsContext;

// The stream's operations expire after `timeout` (0 = never).
void set_expiry(boost::beast::tcp_stream& stream, std::chrono::milliseconds timeout);

class HttpStream final {
 public:
  using error_code = boost::system::error_code;

  // `tls`: the listener's context, or nullptr for plain HTTP.
  HttpStream(boost::asio::ip::tcp::socket socket, const TlsContext* tls);

  [[nodiscard]] boost::beast::tcp_stream& tcp() { return stream_; }
  [[nodiscard]] bool is_tls() const { return tls_required_; }
  // Why the last TLS operation failed (after an errc::protocol_error, or the plain HTTP answer:
  // errc::wrong_protocol_type).
  [[nodiscard]] const std::string& tls_error() const { return tls_error_; }

  // TLS: the server handshake, within the stream's expiry (set by the caller). A client that
  // speaks plain HTTP to it is answered 400 in plain text. Plain: nothing to do.
  boost::asio::awaitable<error_code> handshake();
  // Some bytes of the request stream (eof at the peer's end or closing alert).
  boost::asio::awaitable<std::tuple<error_code, std::size_t>> read_some(boost::asio::mutable_buffer buffer);
  // Writes all of `wire`: what the kernel takes at once goes in one non-blocking send (a small
  // response usually goes whole, without an asynchronous write, its timer and a turn of the
  // event loop); the rest within `timeout` (0 = none; nullopt: within the expiry already set).
  boost::asio::awaitable<error_code> write(std::array<boost::asio::const_buffer, 2> wire,
                                           std::optional<std::chrono::milliseconds> timeout);
  boost::asio::awaitable<error_code> write(std::string_view bytes, std::optional<std::chrono::milliseconds> timeout);
  // TLS: the closing alert (sent if the kernel takes it at once); then the half-close.
  void shutdown_send();
  void close();

  // TLS: the handshake chose HTTP/2.
  [[nodiscard]] bool negotiated_h2() const { return tls_ && tls_->negotiated_h2(); }
  // The session, for the event stream that takes the socket over (nullptr when plain).
  std::unique_ptr<TlsSession> release_tls() { return std::move(tls_); }

 private:
  // Sends `bytes` (ciphertext or plain), first without waiting.
  // `timeout`: for the wait, if any (nullopt: the expiry already set).
  boost::asio::awaitable<error_code> send(std::string_view bytes, std::optional<std::chrono::milliseconds> timeout);

  boost::beast::tcp_stream stream_;
  std::unique_ptr<TlsSession> tls_;
  bool tls_required_ = false;
  std::string tls_error_;
  std::string records_;  // TLS: records to send, reused
};

// Writes `res` as http::async_write would (`head_only`: its head, for a HEAD request).
// Precondition: !res.chunked().
boost::asio::awaitable<HttpStream::error_code> write_response(HttpStream& stream, const Response& res, bool head_only,
                                                              std::optional<std::chrono::milliseconds> timeout);

}  // namespace mercure
