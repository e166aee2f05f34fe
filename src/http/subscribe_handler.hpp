#pragma once
// GET/HEAD /.well-known/mercure: authenticate (or allow anonymous), compile the selectors,
// register a Subscriber on this shard and stream its updates as Server-Sent Events.

#include "http/http_stream.hpp"
#include "http/http_types.hpp"
#include "http/sse_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mercure {

class Shard;

// What a subscribe request comes to, whatever carries it (HTTP/1.1 or an HTTP/2 stream).
struct SubscribeDecision {
  // Set when refused (counted and logged), or for HEAD: the answer (HEAD: its head only).
  std::optional<Response> answer;
  // Accepted GET: everything but the socket and the head (socket, tls and head are empty).
  std::unique_ptr<SseStart> stream;
  // The response's headers beside the fixed ones (see sse_response_fields).
  std::string cors_origin;  // an allowed Origin, echoed; empty: none
  std::optional<std::string> last_event_id;
};

// The fixed header fields of an event stream's response (name, value), beside those of the
// connection (HTTP/1.1's Connection and Transfer-Encoding).
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kSseResponseFields{{
    {"Content-Type", "text/event-stream"},
    {"Cache-Control", "private, no-cache, no-store, must-revalidate, max-age=0"},
    {"Pragma", "no-cache"},  // HTTP/1.0 caches and proxies
    {"X-Accel-Buffering", "no"},
    {kNosniffField, "nosniff"},
    {kFrameOptionsField, "DENY"},
}};

// Sets on `res` the fields of an accepted subscribe's response: the fixed ones, CORS and
// Last-Event-ID (HTTP/2's head, and the answer to HEAD).
void add_sse_fields(const SubscribeDecision& decision, Response& res);

// Authenticates, checks the selectors, takes the token's stream slot, begins the history replay
// and builds the subscriber: the checks of a subscribe request before anything is written.
boost::asio::awaitable<SubscribeDecision> decide_subscribe(Shard* shard, const Request* req, const Target* target,
                                                           std::string remote);

struct SubscribeOutcome {
  // Set when the request was accepted: the socket was taken out of `stream` and the caller
  // hands this to the shard's SseReactor (then ends: the connection is an event stream).
  std::unique_ptr<SseStart> stream;
  // Otherwise an answer was written (an error, or HEAD): whether to keep reading requests.
  bool keep_alive = false;
};

// HTTP/1.1: decide_subscribe, then the refusal written, or the socket taken out of `stream`.
boost::asio::awaitable<SubscribeOutcome> handle_subscribe(Shard* shard, HttpStream* stream, Request* req,
                                                          Target* target, std::string remote);

}  // namespace mercure
