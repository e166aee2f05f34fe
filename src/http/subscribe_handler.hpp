#pragma once
// GET/HEAD /.well-known/mercure: authenticate (or allow anonymous), compile the selectors,
// register a Subscriber on this shard and stream its updates as Server-Sent Events.

#include "http/http_stream.hpp"
#include "http/http_types.hpp"
#include "http/sse_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace mercure {

class Shard;

struct SubscribeOutcome {
  // Set when the request was accepted: the socket was taken out of `stream` and the caller
  // hands this to the shard's SseReactor (then ends: the connection is an event stream).
  std::unique_ptr<SseStart> stream;
  // Otherwise an answer was written (an error, or HEAD): whether to keep reading requests.
  bool keep_alive = false;
};

boost::asio::awaitable<SubscribeOutcome> handle_subscribe(Shard* shard, HttpStream* stream, Request* req,
                                                          Target* target, std::string remote);

}  // namespace mercure
