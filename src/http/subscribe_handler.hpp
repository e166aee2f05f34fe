#pragma once
// GET/HEAD /.well-known/mercure: authenticate (or allow anonymous), compile the selectors,
// register a Subscriber on this shard and stream its updates as Server-Sent Events.

#include "http/http_types.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>

namespace mercure {

class Shard;

// Takes over the connection: on return the connection must be closed (or, for an error
// response or HEAD, it may be kept alive: the returned bool says whether to keep reading).
// Before streaming it releases the request, its target and the read buffer: an idle
// subscriber keeps only its socket, selectors and timers.
boost::asio::awaitable<bool> handle_subscribe(Shard* shard, beast::tcp_stream* stream, Request* req, Target* target,
                                              beast::flat_buffer* buffer, std::string remote);

}  // namespace mercure
