#pragma once
// One HTTP/2 connection (RFC 9113): chosen by ALPN "h2" after a TLS handshake, or, with h2c on,
// a plain connection that starts with the HTTP/2 preface (prior knowledge). nghttp2 does the
// framing, HPACK, flow control and stream states (its callbacks are in h2_connection.cpp); this
// class moves bytes between it and the socket (through the TlsSession on HTTPS) with
// non-blocking system calls and the socket's readiness, and serves each stream as a request
// (h2_requests.cpp): the same handlers as HTTP/1.1, an event stream being an H2EventStream that
// nghttp2 reads as its DATA provider. Many event streams share the connection: a browser on
// HTTP/2 is not held to 6 connections per origin.
//
// Flow: readable -> recv (decrypt) -> nghttp2_session_mem_recv -> callbacks build requests and
// start handlers; something to send (an answer, pushed frames, a heartbeat) -> one posted flush
// per turn -> nghttp2_session_mem_send -> (encrypt) -> one send. What the kernel does not take
// waits for writability, at most dispatch_timeout. One timer per connection carries every
// deadline: idle connection, request not received within read_timeout, stalled write, and its
// event streams' heartbeats, expiry and lifetime.
//
// Lifetime: a shared_ptr held by its pending handlers (read, write, timer, handler coroutines
// hold weak ones). Shard thread only.

#include "core/admission.hpp"
#include "core/metrics.hpp"
#include "http/http_types.hpp"
#include "http/shard.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct nghttp2_session;

namespace mercure {

class TlsSession;
class H2EventStream;
struct SseStart;

// The first bytes of every HTTP/2 connection (RFC 9113 section 3.4).
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Serves HTTP/2 on `socket` from now on (the caller's coroutine ends). `tls`: the connection's
// session, handshake done (nullptr: h2c); `received`: plaintext already read (the preface).
void serve_http2(Shard* shard, boost::asio::ip::tcp::socket socket, std::unique_ptr<TlsSession> tls,
                 std::string received, ConnectionTicket ticket, std::string remote);

class H2Connection final : public ShardConnection, public std::enable_shared_from_this<H2Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  H2Connection(Shard* shard, boost::asio::ip::tcp::socket socket, std::unique_ptr<TlsSession> tls,
               ConnectionTicket ticket, std::string remote);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  void start(std::string received);
  // ShardConnection: GOAWAY, event streams end, requests under way are answered.
  void shutdown() override;
  void drain() override;
  void announce_again() override;

  // One request stream (h2_requests.cpp). Shared with the handler coroutine serving it.
  struct Stream {
    std::int32_t id = 0;
    Request req;
    std::size_t header_bytes = 0;
    std::optional<Error> refused;  // headers or body over the limits: answered at once
    bool complete = false;         // the request was received (END_STREAM)
    bool answered = false;         // a response was submitted
    bool closed = false;           // nghttp2 closed the stream (answered, reset, or connection gone)
    Clock::time_point started{};
    Clock::time_point last_progress{};  // answered, or the answer's last bytes given to nghttp2
    std::string body;                   // the response's body, given to nghttp2 from body_offset
    std::size_t body_offset = 0;
    std::unique_ptr<H2EventStream> events;
  };

  // nghttp2 callbacks (h2_connection.cpp).
  int on_begin_headers(std::int32_t id);
  int on_header(std::int32_t id, std::string_view name, std::string_view value, bool request_headers);
  int on_frame(std::int32_t id, bool headers, bool end_stream);
  int on_data(std::int32_t id, const std::uint8_t* data, std::size_t len);
  int on_stream_close(std::int32_t id, std::uint32_t error_code);
  void on_response_sent(std::int32_t id);
  long read_body(std::int32_t id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags);

 private:
  // I/O.
  // Waits (once at a time: `waiting`) for the socket to be ready for `type`, then calls `then`;
  // an error closes the connection.
  void wait_for(boost::asio::ip::tcp::socket::wait_type type, bool H2Connection::*waiting,
                void (H2Connection::*then)());
  void wait_readable();
  void on_readable();
  bool feed(const char* data, std::size_t size);
  void schedule_flush();
  void flush();
  void wait_writable();
  void arm_timer(Clock::time_point at);
  // How long an answer may wait for the client's window, or the socket may take nothing, after
  // their last progress: dispatch_timeout (nullopt when that is off).
  [[nodiscard]] std::optional<Clock::duration> write_limit() const;
  void on_timer();
  // Ends the connection; its event streams end for `why`.
  void close(DisconnectReason why = DisconnectReason::client_gone);

  // Requests (h2_requests.cpp).
  void dispatch(const std::shared_ptr<Stream>& s);
  void refuse(Stream& s, const Error& e, const char* what);
  void respond(Stream& s, Response res, bool head_only);
  void start_event_stream(Stream& s, std::unique_ptr<SseStart> start, const Response& head);
  // Runs `body` (a handler coroutine) for `s`; its result is submitted if the stream is still open.
  Stream* find(std::int32_t id);
  void resume(std::int32_t id);

  Shard* shard_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsSession> tls_;
  ConnectionTicket ticket_;
  std::string remote_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<Stream>> streams_;
  std::vector<std::int32_t> to_resume_;  // event streams with something new, resumed by flush()
  std::string plain_;                    // TLS: frames to encrypt
  std::string out_;                      // bytes for the socket (records on TLS)
  std::size_t out_offset_ = 0;
  boost::asio::steady_timer timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();
  Clock::time_point idle_since_;
  Clock::time_point write_blocked_since_{};
  bool any_stream_ = false;  // a stream was opened (else the first must come within read_header_timeout)
  bool reading_ = false;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool in_flush_ = false;
  bool shutting_down_ = false;   // GOAWAY sent: drain() or shutdown()
  bool streams_ending_ = false;  // shutdown(): event streams are ended, none begins
  bool closed_ = false;
};

}  // namespace mercure
