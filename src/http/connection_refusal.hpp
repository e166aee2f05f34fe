#pragma once
// Turning a connection away politely, and the helpers it shares with serve_connection: the 429
// for a connection over the limits (core/admission.hpp), the bounded linger after an error
// answered before the request was read.
//
// Shard thread only.

#include "core/admission.hpp"
#include "http/http_stream.hpp"
#include "http/http_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <string>

namespace mercure {

class Shard;

// The key a client is counted under: an IPv4 address (also when it arrives IPv4-mapped on a
// dual-stack socket) or the /64 prefix of an IPv6 address.
[[nodiscard]] AddressKey address_key(const boost::asio::ip::address& address);

// Why `verdict` refused a connection, for the 429's body and the log.
[[nodiscard]] std::string refusal_reason(const ConnectionLimits& limits, ConnectionLimits::Verdict verdict);

// Answers 429 with Retry-After before reading anything, then closes. Counted, logged (at most
// once a second per shard), bounded in time by dispatch_timeout + linger.
boost::asio::awaitable<void> refuse_connection(Shard* shard, HttpStream& stream, const std::string& reason,
                                               const std::string& remote);

// After an error answered before the body was read (413, 431, 400), the client may still be
// sending: half-close, then read and discard for a bounded time and size before closing.
boost::asio::awaitable<void> linger(HttpStream* stream);

}  // namespace mercure
