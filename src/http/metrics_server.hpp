#pragma once
// The separate metrics listener (METRICS_ADDR): one event loop on one thread serving
// GET/HEAD /metrics and /healthz, nothing else (404; other methods on those paths: 405).
// It keeps scrapes off the hub's port, e.g. to expose them on an internal interface only.
//
// Thread-safety: start() and stop() from the main thread (start-up, shutdown); the source's
// render() runs on this listener's thread.

#include "http/metrics_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <thread>

namespace mercure {

class MetricsServer final {
 public:
  explicit MetricsServer(const MetricsSource& source);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds `host:port` (empty host = all interfaces; port 0 = an ephemeral port) and starts the
  // thread. Throws std::runtime_error naming the address when it cannot listen.
  void start(const std::string& host, std::uint16_t port);
  // "http://host:port" as clients should use it (after start()).
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Stops accepting, drops open connections and joins the thread. Idempotent.
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  const MetricsSource& source_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace mercure
