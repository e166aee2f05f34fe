#pragma once
// The listening side: one Shard per worker, all bound to the same address with
// SO_REUSEPORT. Owns the shards; borrows the hub, authorizer and transport.

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

class Server final {
 public:
  Server(ServerOptions options, Hub& hub, const Authorizer& authorizer, Transport& transport);
  ~Server();

  // Binds every worker and starts their threads. Throws (start-up) when the address is unusable.
  void start();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // "http://host:port" as clients should use it.
  [[nodiscard]] std::string url() const;

  // Graceful stop: stop accepting, end streams cleanly, wait at most shutdown_grace, then
  // force the event loops to stop. Returns when every worker thread has exited. Idempotent.
  // Shards stay allocated until destruction: the transport still holds their listeners.
  void stop();

 private:
  ServerOptions options_;
  Hub& hub_;
  const Authorizer& authorizer_;
  Transport& transport_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace mercure
