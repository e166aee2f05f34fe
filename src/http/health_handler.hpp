#pragma once
// Health probes: GET /healthz (liveness: the event loop answers) and GET /healthz/ready
// (readiness: the transport accepts publishes). 200 or 503 with a JSON body
// {"status": "...", "reason": "..."}. Shard thread only.

#include "http/http_types.hpp"

#include <string_view>

namespace mercure {

class Shard;

[[nodiscard]] bool is_health_path(std::string_view path);

// GET/HEAD only (the router answers 405 otherwise).
[[nodiscard]] Response handle_health(Shard* shard, const Request& req, std::string_view path);

}  // namespace mercure
