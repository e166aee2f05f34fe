#pragma once
// Which handler answers a request, whatever carries it (an HTTP/1.1 connection or an HTTP/2
// stream): the event stream, the publish and the subscriptions API are driven by the caller
// (they wait: for the transport, for a key set); every other answer is made here at once.

#include "http/http_types.hpp"

#include <string_view>

namespace mercure {

class Shard;

inline constexpr std::string_view kHubPath = "/.well-known/mercure";

enum class Route {
  subscribe,      // GET or HEAD on the hub: handle_subscribe / decide_subscribe
  publish,        // POST on the hub: handle_publish
  subscriptions,  // GET or HEAD on the subscriptions API: handle_subscriptions
  other,          // answer_other
};

[[nodiscard]] Route route_of(Shard* shard, const Request& req, const Target& target);

// The answer to a request routed `other`: health, metrics, the UI, preflights, 405 and 404
// (counted and logged like the rest).
[[nodiscard]] Response answer_other(Shard* shard, const Request& req, const Target& target);

}  // namespace mercure
