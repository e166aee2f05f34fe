#pragma once
// POST /.well-known/mercure: authenticate, CSRF-check cookies, parse the form, publish, and
// answer with the id once the transport has acknowledged the update.

#include "http/http_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace mercure {

class Shard;

boost::asio::awaitable<Response> handle_publish(Shard* shard, const Request* req, const Target* target,
                                                std::string remote);

}  // namespace mercure
