#pragma once
// The Caddyfile-like syntax of --config files and MERCURE_EXTRA_DIRECTIVES, as Caddy reads it:
// lines of words, `#` comments, "quoted" (\" inside) and `backquoted` strings that may span
// lines, blocks opened by a `{` ending a line and closed by a `}` on its own line.
// `{$NAME}` / `{$NAME:default}` are substituted in the whole text before it is split into words;
// `{env.NAME}` inside one word (so a PEM with newlines stays one word). Knows nothing of the
// directives (config_file_layer does). Start-up only.

#include "app/config_layer.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mercure::caddyfile {

struct Token {
  std::string text;
  int line = 0;
  bool starts_line = false;
  bool open_brace = false;   // an unquoted "{" word
  bool close_brace = false;  // an unquoted "}" word
};

struct Node {
  std::string name;
  std::vector<Token> args;
  std::vector<Node> children;
  bool has_block = false;
  int line = 0;
};

// The directives of `text`; `origin` names it in errors ("hub.conf line 3: ..."). Throws
// ConfigError for an unterminated string, an unmatched brace, or a brace not alone where it must be.
[[nodiscard]] std::vector<Node> parse_text(std::string_view text, const std::string& origin, const settings::Env& env);

}  // namespace mercure::caddyfile
