#pragma once
// Where Caddy would hand requests to the mercure block of a Caddyfile: the path prefixes its
// enclosing `handle_path /hub/*` blocks and `uri strip_prefix /x` directives remove before the
// hub sees the request (so clients use /hub/.well-known/mercure). Other enclosing matchers are
// not applied (the hub answers its own paths), with a warning naming them. Start-up only.

#include "app/caddyfile.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure::caddyfile {

// `chain`: the blocks enclosing the mercure directive, outermost first (the site block, if any,
// then handle/handle_path/route...); the last one's children hold the mercure directive. Returns
// the prefixes Caddy removes on the way, in order ("/a", "/b": no trailing slash, none empty);
// findings are appended to `warnings`.
[[nodiscard]] std::vector<std::string> hub_path_prefixes(const std::vector<const Node*>& chain,
                                                         const std::string& origin, std::vector<std::string>& warnings);

// The value a `handle_path` matcher or `strip_prefix` argument removes ("/hub/*" -> "/hub",
// "hub" -> "/hub", "/*" -> ""), or nothing when it is not a plain path prefix.
[[nodiscard]] std::optional<std::string> stripped_prefix(std::string_view matcher, bool is_matcher);

}  // namespace mercure::caddyfile
