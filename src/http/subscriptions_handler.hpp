#pragma once
// The subscription API (PROTOCOL.md "Active subscriptions"): GET
// /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]] as application/ld+json, with
// lastEventID at the root, ETag / If-None-Match (304), 404 for an unknown subscription, and
// access granted by the caller's mercure.subscribe claim matching the request URL.
// Shard thread only.

#include "http/http_types.hpp"
#include "http/key_set_wait.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class Shard;

// True when the subscriptions feature is on and `path` (raw) is under the API's prefix.
[[nodiscard]] bool is_subscriptions_path(const Shard* shard, std::string_view path);

// GET/HEAD only (the router answers 405 otherwise). With `key_set_wait`, a token naming a kid its
// key set is being fetched for sets it instead of answering (the response is then empty): the
// caller waits for the fetch and calls again without it.
[[nodiscard]] Response handle_subscriptions(Shard* shard, const Request& req, const Target& target,
                                            const std::string& remote,
                                            std::optional<KeySetWait>* key_set_wait = nullptr);

}  // namespace mercure
