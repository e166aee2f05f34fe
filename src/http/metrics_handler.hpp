#pragma once
// GET /metrics on the main listener: the Prometheus text exposition. Shard thread only.

#include "http/http_types.hpp"

#include <string_view>

namespace mercure {

class Shard;

// True when `path` is the metrics endpoint and metrics are served on the main listener.
[[nodiscard]] bool is_metrics_path(const Shard* shard, std::string_view path);

// GET/HEAD only (the router answers 405 otherwise).
[[nodiscard]] Response handle_metrics(Shard* shard, const Request& req);

}  // namespace mercure
