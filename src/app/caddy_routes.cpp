#include "app/caddy_routes.hpp"

#include <optional>

namespace mercure::caddyfile {
namespace {

constexpr std::string_view kHubPath = "/.well-known/mercure";

bool is_strip_prefix(const Node& node) {
  return node.name == "uri" && node.args.size() == 2 && node.args[0].text == "strip_prefix";
}

// Whether Caddy's path matcher `pattern` (exact, or a prefix when it ends with '*') matches `path`.
bool path_matches(std::string_view pattern, std::string_view path) {
  if (pattern.ends_with('*')) return path.starts_with(pattern.substr(0, pattern.size() - 1));
  return path == pattern;
}

struct Level {
  const Node* node;
  std::string stripped;  // what this level removes: its handle_path matcher, then its uri strip_prefix
};

}  // namespace

std::optional<std::string> stripped_prefix(std::string_view value, bool is_matcher) {
  if (value.empty() || value.find_first_of("?#{}\\ ") != std::string_view::npos) return std::nullopt;
  if (is_matcher) {
    // Only a prefix pattern ("/hub/*", "/hub*") or an exact path; other wildcards are not prefixes.
    if (value.front() != '/' && value != "*") return std::nullopt;
    if (value.ends_with('*')) value.remove_suffix(1);
    if (value.find('*') != std::string_view::npos) return std::nullopt;
  } else if (value.find('*') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string out(value);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!out.empty() && out.front() != '/') out.insert(out.begin(), '/');  // strip_prefix adds it too
  if (out.find("//") != std::string::npos) return std::nullopt;
  return out;
}

std::string hub_path_prefix(const std::vector<const Node*>& chain, const std::string& origin,
                            std::vector<std::string>& warnings) {
  std::vector<Level> levels;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const Node& node = *chain[i];
    const Node* next = i + 1 < chain.size() ? chain[i + 1] : nullptr;
    const std::string where = origin + " line " + std::to_string(node.line);
    Level level{&node, {}};
    if (node.name == "handle_path" && i > 0) {
      auto p = node.args.size() == 1 ? stripped_prefix(node.args[0].text, true) : std::nullopt;
      if (p) {
        level.stripped = *p;
      } else {
        warnings.push_back(where +
                           ": handle_path needs one path prefix (handle_path /hub/*); the hub's path is "
                           "not changed by it");
      }
    }
    for (const Node& child : node.children) {
      if (&child == next || !is_strip_prefix(child)) continue;
      if (auto p = stripped_prefix(child.args[1].text, false)) {
        level.stripped += *p;
      } else {
        warnings.push_back(origin + " line " + std::to_string(child.line) +
                           ": uri strip_prefix needs a plain path (uri strip_prefix /hub); ignored");
      }
    }
    levels.push_back(std::move(level));
  }
  std::string prefix;
  for (const Level& level : levels) prefix += level.stripped;

  // Each enclosing matcher sees the path with the outer levels' prefixes removed: one that does
  // not match the hub's path would keep Caddy's requests from the hub; not applied here.
  std::string seen = prefix + std::string(kHubPath);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const Node& node = *levels[i].node;
    if (i > 0 && (node.name == "handle" || node.name == "handle_path" || node.name == "route") && !node.args.empty()) {
      const std::string& matcher = node.args[0].text;
      const std::string where = origin + " line " + std::to_string(node.line);
      if (matcher.starts_with('@')) {
        warnings.push_back(where + ": matcher " + matcher + " of " + node.name + " not applied: the hub answers at " +
                           prefix + std::string(kHubPath));
      } else if (!path_matches(matcher, seen) && !path_matches(matcher, seen + "/")) {
        warnings.push_back(where + ": " + node.name + " " + matcher + " does not match the hub's path " + seen +
                           " (Caddy would not reach the mercure block through it; strip the prefix with handle_path "
                           "or uri strip_prefix): the hub answers at " +
                           prefix + std::string(kHubPath));
      }
    }
    seen = seen.substr(levels[i].stripped.size());
  }
  return prefix;
}

}  // namespace mercure::caddyfile
