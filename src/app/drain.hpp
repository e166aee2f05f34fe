#pragma once
// The first half of a graceful shutdown, as the reference hub does it (its docs' "rolling
// updates"): on SIGTERM (or a first SIGINT) the hub stops accepting connections and requests, but its event streams
// run on, still fed, until each one's own end of life (write_timeout, jittered per connection, or
// the token's exp), so their clients reconnect spread over that time instead of all at once.
// Worth it when other hubs keep feeding those streams (a shared transport: Redis); a lone hub's
// streams would receive nothing while its store must be released for the next one, so there
// they end at once unless grace_period asks otherwise.

#include "app/config.hpp"

#include <chrono>
#include <csignal>
#include <optional>

namespace mercure {

class Server;

// How long the event streams may drain: grace_period when set (0: no drain), else write_timeout
// with a shared transport; never past write_timeout (every stream has ended by then), nothing
// when write_timeout is 0 (streams have no end of life).
[[nodiscard]] std::optional<std::chrono::milliseconds> drain_limit(const Config& config, bool shared_transport);

// Drains `server`'s event streams for at most `limit`: returns once none is left, the limit has
// passed, or SIGINT arrives again (SIGTERM, as a preStop hook's POST /stop is followed by one, and
// SIGHUP are ignored meanwhile). `signals` is the set blocked and waited on by main.
void drain_streams(Server& server, std::chrono::milliseconds limit, const sigset_t& signals);

}  // namespace mercure
