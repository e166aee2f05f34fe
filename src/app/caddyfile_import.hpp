#pragma once
// Caddy's `import` in a --config file: `import <snippet>` pastes the body of a snippet defined at
// the top of the file as `(name) { ... }`; `import <file or glob>` pastes the directives of the
// files it names (relative to the importing file's directory; a glob may match none, a plain path
// must exist). `{args[0]}` / `{args.0}` in what is pasted take the import's further words. Works
// on parsed directives, in blocks too (`mercure { import common }`); nested imports are expanded,
// at most 10 deep (a cycle is an error). Start-up only.

#include "app/caddyfile.hpp"

#include <string>
#include <vector>

namespace mercure::caddyfile {

// `nodes` as parsed from the file named `origin`, with every import expanded and the snippets'
// definitions removed. Throws ConfigError ("hub.conf line 3: ...") for an import of nothing, a
// file that cannot be read, or nesting past 10.
[[nodiscard]] std::vector<Node> expand_imports(std::vector<Node> nodes, const std::string& origin,
                                               const settings::Env& env);

}  // namespace mercure::caddyfile
