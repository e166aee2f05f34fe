#pragma once
// What an event stream starts with once a subscribe request was accepted: the socket (taken
// out of Asio), the response head, the subscriber, the history to replay and the settings.
// The stream itself is an SseConnection driven by its shard's SseReactor (no coroutine, no
// timer of its own): see sse_connection.hpp.

#include "core/admission.hpp"
#include "core/subscriber.hpp"
#include "http/replay_reader.hpp"
#include "http/tls_session.hpp"
#include "http/unique_fd.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace mercure {

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

struct SseStart {
  UniqueFd socket;                  // connected TCP socket; no longer registered with Asio
  std::unique_ptr<TlsSession> tls;  // on a TLS listener: the connection's session (handshake done)
  std::string head;                 // the response head already formatted (status line + headers + blank line)
  std::unique_ptr<Subscriber> subscriber;
  // Optional, already begun: the history to send first; the subscriber is switched from
  // buffering to live when the replay reaches the end of the store (see HistoryReplay, and
  // ReplayReader for a history whose reads block).
  std::unique_ptr<ReplayReader> replay;
  SseStreamSettings settings;
  std::string remote;                  // for log lines
  StreamTicket stream_ticket;          // the token's stream slot, held until the stream ends
  ConnectionTicket connection_ticket;  // the connection's slot (set by serve_connection)
};

}  // namespace mercure
