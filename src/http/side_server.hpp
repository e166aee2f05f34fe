#pragma once
// A small HTTP/1.1 listener beside the hub's: one event loop on one thread, each request answered
// by one function, no TLS, no streaming. Used for the separate metrics address (METRICS_ADDR) and
// for the HTTP port of automatic HTTPS (redirects to HTTPS, ACME HTTP-01 challenges).
//
// Thread-safety: start() and stop() from the main thread (start-up, shutdown); the handler runs
// on this listener's thread.

#include "core/admission.hpp"
#include "core/log_sampler.hpp"
#include "http/http_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>

namespace mercure {

class MetricsSource;

class SideServer final {
 public:
  using Handler = std::function<Response(const Request&)>;

  // At most this many connections at once, and this many from one address (IPv4 address or
  // IPv6 /64): more are closed at once. A public listener (the HTTP port) must not hold the
  // descriptors the hub's own listener needs.
  static constexpr std::size_t kMaxConnections = 256;
  static constexpr std::size_t kMaxPerAddress = 16;

  // `what` names the listener in errors and logs ("metrics", "HTTP redirects"). `idle_timeout`:
  // how long a kept-alive connection may wait for its next request.
  explicit SideServer(std::string what, std::chrono::seconds idle_timeout = std::chrono::seconds(120));
  ~SideServer();
  SideServer(const SideServer&) = delete;
  SideServer& operator=(const SideServer&) = delete;

  // Binds `host:port` (empty host = all interfaces; "localhost" = 127.0.0.1; port 0 = an
  // ephemeral port). Throws std::runtime_error naming the address when it cannot listen.
  void bind(const std::string& host, std::uint16_t port);
  // Starts the thread answering with `handler` (after bind()).
  void start(Handler handler);
  // "http://host:port" as clients should use it (after start()).
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Stops accepting, drops open connections and joins the thread. Idempotent.
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  std::string what_;
  std::chrono::seconds idle_timeout_;
  Handler handler_;
  std::size_t open_ = 0;                                                     // this thread only
  std::unordered_map<AddressKey, std::size_t, AddressKeyHash> per_address_;  // open connections
  LogSampler accept_errors_{1, std::chrono::seconds(1)};
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// The separate metrics listener's answers: GET/HEAD /metrics and /healthz, nothing else (404;
// other methods on those paths: 405). It keeps scrapes off the hub's port, e.g. to expose them on
// an internal interface only.
[[nodiscard]] SideServer::Handler metrics_side_handler(const MetricsSource& source);

}  // namespace mercure
