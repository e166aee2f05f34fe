#include "app/drain.hpp"

#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

namespace mercure {

std::optional<std::chrono::milliseconds> drain_limit(const Config& config, bool shared_transport) {
  if (config.write_timeout.count() == 0) return std::nullopt;
  if (config.grace_period) {
    if (config.grace_period->count() == 0) return std::nullopt;
    return std::min(*config.grace_period, config.write_timeout);
  }
  if (shared_transport) return config.write_timeout;
  return std::nullopt;
}

void drain_streams(Server& server, std::chrono::milliseconds limit, const sigset_t& signals) {
  const std::size_t open = server.open_streams();
  if (open == 0) return;
  server.begin_drain();
  spdlog::info(
      "draining {} event stream{}: no new connection; each stream ends at its own end of life, within {} s "
      "(SIGINT ends them now)",
      open, open == 1 ? "" : "s", std::chrono::duration_cast<std::chrono::seconds>(limit).count());
  // A stream's end of life counts from its start, so none open at the signal outlives the limit
  // by more than the reactor's timer resolution; a second's margin lets them end on their own.
  // (A subscribe under way at the signal, served during the drain, may be cut by the limit.)
  const auto deadline = std::chrono::steady_clock::now() + limit + std::chrono::seconds(1);
  const timespec poll{0, 200'000'000};  // how often the count is read: a log line's precision
  while (server.open_streams() > 0 && std::chrono::steady_clock::now() < deadline) {
    const int sig = sigtimedwait(&signals, nullptr, &poll);
    if (sig == SIGINT) {
      spdlog::info("received SIGINT while draining: ending the {} event streams left now", server.open_streams());
      return;
    }
    if (sig == SIGTERM) spdlog::info("received SIGTERM while draining: already stopping (SIGINT ends the streams now)");
  }
  const std::size_t left = server.open_streams();
  if (left == 0) {
    spdlog::info("every event stream has ended");
  } else {
    spdlog::info("grace period over: ending the {} event streams left", left);
  }
}

}  // namespace mercure
