#pragma once
// The mercure block of a --config file (and the directives of MERCURE_EXTRA_DIRECTIVES) as a
// layer of settings: directive names are the reference hub's (`publisher_jwt KEY [ALG]`,
// `transport NAME { path P ... }`, `cors_origins a b`, ...). The block may stand alone or sit
// in a site block, whose address then sets the port like SERVER_NAME; everything outside it is
// ignored with a warning; an unknown directive inside it is an error naming it and its line.
// Start-up only.

#include "app/caddyfile.hpp"
#include "app/config_layer.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mercure::settings {

// Sets in `layer` what the directives `nodes` say (the inside of a mercure block); findings that
// are not errors are appended to `warnings`. Throws ConfigError.
void apply_directives(const std::vector<caddyfile::Node>& nodes, const std::string& origin, Layer& layer,
                      std::vector<std::string>& warnings);

// Caddy's global options that concern this hub (`email`, `acme_ca`, `acme_ca_root`,
// `auto_https`), from a file's global options block or GLOBAL_OPTIONS; others are warned about.
void apply_global_options(const std::vector<caddyfile::Node>& nodes, const std::string& origin, Layer& layer,
                          std::vector<std::string>& warnings);

// The layer of a --config file's text; `origin` names it in messages. Throws ConfigError.
[[nodiscard]] Layer file_layer(std::string_view text, const std::string& origin, const Env& env,
                               std::vector<std::string>& warnings);

}  // namespace mercure::settings
