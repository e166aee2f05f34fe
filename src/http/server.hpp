#pragma once
// The listening side: one Shard per worker, all bound to the same address with
// SO_REUSEPORT. Owns the shards; borrows the hub, authorizer and transport.

#include "core/admission.hpp"
#include "http/server_options.hpp"
#include "http/shard.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercure {

class Hub;
class Authorizer;
class Transport;
class Metrics;
class MetricsSource;

class Server final {
 public:
  // `metrics`: where shards report (NullMetrics when off). `metrics_page`: what GET /metrics
  // serves on this listener, nullptr = not served here. Both must outlive the server.
  Server(ServerOptions options, Hub& hub, const Authorizer& authorizer, Transport& transport, Metrics& metrics,
         const MetricsSource* metrics_page);
  ~Server();

  // Binds every worker and starts their threads. Throws (start-up) when the address is unusable.
  void start();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // "http://host:port" as clients should use it.
  [[nodiscard]] std::string url() const;

  // Graceful shutdown, first half (optional): no new connection nor request; the HTTP/1.1 event
  // streams go on (still delivered to) until their own end of life or stop().
  void begin_drain();
  // HTTP/1.1 event streams still open (any thread).
  [[nodiscard]] std::size_t open_streams() const;
  // Graceful stop: stop accepting, end streams cleanly, wait at most shutdown_grace, then
  // force the event loops to stop. Returns when every worker thread has exited. Idempotent.
  // Shards stay allocated until destruction: the transport still holds their listeners.
  void stop();
  // Thread-safe: every event stream announces its subscriptions again (see Shard).
  void announce_subscriptions_again();

 private:
  ServerOptions options_;
  Hub& hub_;
  const Authorizer& authorizer_;
  Transport& transport_;
  Metrics& metrics_;
  const MetricsSource* metrics_page_;
  Admission admission_;  // declared before shards_: their connections hold tickets of it
  std::vector<std::unique_ptr<Shard>> shards_;
  // Reads of a history that blocks (Redis), off the event loops; joined by stop() after the
  // shards' threads, before anything they post to is destroyed. Null for LMDB or no history.
  std::unique_ptr<HistoryReaders> history_readers_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace mercure
