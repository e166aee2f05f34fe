#pragma once
// The debugging UI (static files embedded in the binary) under /.well-known/mercure/ui/, and
// the demo endpoints under /.well-known/mercure/ui/demo/ (discovery and cookie tryouts).
// Shard thread only.

#include "http/http_types.hpp"

#include <string_view>

namespace mercure {

class Shard;

// True when `path` (raw, undecoded) is served by handle_ui given the shard's options
// (ui or demo on).
[[nodiscard]] bool is_ui_path(const Shard* shard, std::string_view path);

// GET/HEAD only (the router answers 405 otherwise).
[[nodiscard]] Response handle_ui(Shard* shard, const Request& req, const Target& target);

}  // namespace mercure
