#pragma once
// POST /.well-known/mercure: authenticate, CSRF-check cookies, parse the form, publish, and
// answer with the id once the transport has acknowledged the update.
// Not a coroutine of its own (no frame per request): the checks run when the returned awaitable
// is awaited, and the response arrives through the shard's executor. `req` and `target` must
// stay valid until then (they live in the awaiting connection's frame).

#include "http/http_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace mercure {

class Shard;

boost::asio::awaitable<Response> handle_publish(Shard* shard, const Request* req, const Target* target,
                                                std::string remote);

}  // namespace mercure
