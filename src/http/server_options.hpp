#pragma once
// What the HTTP layer needs to know, mapped from the application's Config by main.cpp so
// that src/http never depends on how settings are read.

#include "core/subscriber.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mercure {

struct ServerOptions {
  std::string host;  // empty = all interfaces
  std::uint16_t port = 3000;
  unsigned workers = 1;

  bool anonymous = false;
  std::vector<std::string> cors_origins;     // "*" allows any origin
  std::vector<std::string> publish_origins;  // CSRF allowlist for cookie-authenticated POST
  std::string cookie_name = "mercureAuthorization";

  std::chrono::milliseconds heartbeat{40'000};        // 0 = no heartbeats
  std::chrono::milliseconds write_timeout{600'000};   // max stream life, jittered 80-100%; 0 = none
  std::chrono::milliseconds dispatch_timeout{5'000};  // max time of one write; 0 = none
  std::chrono::milliseconds read_timeout{30'000};     // time to read one request; 0 = none
  std::chrono::milliseconds idle_timeout{120'000};    // keep-alive idle time between requests
  std::chrono::milliseconds shutdown_grace{5'000};    // bound on graceful stop

  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  OutboxLimits outbox;

  // Optional features (issue 4). Each is off unless configured.
  bool subscriptions = false;  // subscription events and the subscriptions API
  bool ui = false;             // the debugging UI under /.well-known/mercure/ui/
  bool demo = false;           // the UI plus the demo endpoints under /.well-known/mercure/ui/demo/
};

}  // namespace mercure
