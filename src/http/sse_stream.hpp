#pragma once
// The event-stream half of a subscription: replays the history asked for, then writes the
// subscriber's pending frames in one
// gather write, heartbeats when idle, and ends the stream at the token's expiry, at the
// connection's jittered lifetime, when a write exceeds dispatch_timeout, when the outbox
// overflows, when the peer goes away, or at shutdown.

#include "core/history_replay.hpp"
#include "core/subscriber.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mercure {

class Shard;

struct SseStreamSettings {
  bool chunked = true;                            // HTTP/1.1: chunked transfer coding
  std::chrono::milliseconds heartbeat{0};         // 0 = none
  std::chrono::milliseconds dispatch_timeout{0};  // 0 = none
  std::optional<std::chrono::steady_clock::time_point> token_expiry;
  std::optional<std::chrono::steady_clock::time_point> end_of_life;
  // Called once the subscriber is in the shard's index (every update dispatched from then on
  // reaches it), and once it has left it, whatever ended the stream. Optional.
  std::function<void()> on_registered;
  std::function<void()> on_unregistered;
};

// `head`: the response head already formatted (status line + headers + blank line).
// The subscriber is registered in the shard's index for the whole stream and removed after.
// `replay` (optional, already begun): the history to send first; the subscriber is switched
// from buffering to live when the replay reaches the end of the store (see HistoryReplay).
boost::asio::awaitable<void> run_sse_stream(Shard* shard, boost::asio::ip::tcp::socket socket, std::string head,
                                            std::unique_ptr<Subscriber> subscriber,
                                            std::unique_ptr<HistoryReplay> replay, SseStreamSettings settings,
                                            std::string remote);

}  // namespace mercure
