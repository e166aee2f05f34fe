#pragma once
// One coroutine per accepted connection: reads requests (keep-alive), routes them, writes
// responses; a subscribe request turns the connection into an event stream for good.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace mercure {

class Shard;

// Runs on the shard's thread until the connection ends. `shard` outlives the coroutine.
boost::asio::awaitable<void> serve_connection(Shard* shard, boost::asio::ip::tcp::socket socket);

}  // namespace mercure
