#include "app/caddy_routes.hpp"

#include "app/config_layer.hpp"

#include <algorithm>
#include <optional>

namespace mercure::caddyfile {
namespace {

constexpr std::string_view kHubPath = "/.well-known/mercure";

// `uri strip_prefix P` or `uri <path matcher> strip_prefix P`: the index of P in the args, or 0.
std::size_t strip_prefix_arg(const Node& node) {
  if (node.name != "uri") return 0;
  if (node.args.size() == 2 && node.args[0].text == "strip_prefix") return 1;
  if (node.args.size() == 3 && node.args[1].text == "strip_prefix") return 2;
  return 0;
}

// Whether Caddy's path matcher `pattern` (exact, or a prefix when it ends with '*'; case does not
// count) matches `path`; nullopt for patterns with other wildcards (not judged here).
std::optional<bool> path_matches(std::string_view pattern, std::string_view path) {
  const bool prefix = pattern.ends_with('*');
  if (prefix) pattern.remove_suffix(1);
  if (pattern.find('*') != std::string_view::npos) return std::nullopt;
  const std::string folded_path = settings::lower(path);
  const std::string folded_pattern = settings::lower(pattern);
  return prefix ? folded_path.starts_with(folded_pattern) : folded_path == folded_pattern;
}

struct Level {
  const Node* node;
  std::vector<std::string> stripped;  // its handle_path matcher, then its uri strip_prefix
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

std::vector<std::string> hub_path_prefixes(const std::vector<const Node*>& chain, const std::string& origin,
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
        if (!p->empty()) level.stripped.push_back(*p);
      } else {
        warnings.push_back(where +
                           ": handle_path needs one path prefix (handle_path /hub/*); the hub's path is "
                           "not changed by it");
      }
    }
    for (const Node& child : node.children) {
      const std::size_t arg = strip_prefix_arg(child);
      if (&child == next || arg == 0) continue;
      const std::string child_where = origin + " line " + std::to_string(child.line);
      auto p = stripped_prefix(child.args[arg].text, false);
      if (!p) {
        warnings.push_back(child_where + ": uri strip_prefix needs a plain path (uri strip_prefix /hub); ignored");
        continue;
      }
      if (arg == 2) {
        // `uri /hub/* strip_prefix /hub`: read when its matcher takes every path the prefix
        // starts (the usual form); another matcher (`@name`, `/static/*`) is not applied here.
        const auto covered = stripped_prefix(child.args[0].text, true);
        if (!covered || !(p->starts_with(*covered) && (p->size() == covered->size() || (*p)[covered->size()] == '/'))) {
          warnings.push_back(child_where + ": uri " + child.args[0].text + " strip_prefix " + child.args[arg].text +
                             " ignored: only a matcher covering the prefix (uri " + *p + "/* strip_prefix " + *p +
                             ") is read");
          continue;
        }
      }
      if (!p->empty()) level.stripped.push_back(*p);
    }
    levels.push_back(std::move(level));
  }
  std::vector<std::string> prefixes;
  for (Level& level : levels) {
    // A prefix the hub's own path begins with (handle_path /.well-known/*) leaves Caddy's mercure
    // handler a path it does not answer: not read, the hub stays at its own path.
    std::erase_if(level.stripped, [&](const std::string& p) {
      const std::string folded = settings::lower(p);  // matched without case, as Caddy's path matchers
      const bool own = kHubPath == folded || kHubPath.starts_with(folded + "/");
      if (own) {
        warnings.push_back(origin + " line " + std::to_string(level.node->line) + ": prefix " + p +
                           " ignored: the hub's own path " + std::string(kHubPath) +
                           " begins with it (Caddy's mercure handler would not answer what is left)");
      }
      return own;
    });
    prefixes.insert(prefixes.end(), level.stripped.begin(), level.stripped.end());
  }
  std::string whole;
  for (const std::string& p : prefixes) whole += p;

  // Each enclosing matcher sees the path with the outer levels' prefixes removed: one that does
  // not match the hub's path would keep Caddy's requests from the hub; not applied here.
  std::string seen = whole + std::string(kHubPath);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const Node& node = *levels[i].node;
    if (i > 0 && (node.name == "handle" || node.name == "handle_path" || node.name == "route") && !node.args.empty()) {
      const std::string& matcher = node.args[0].text;
      const std::string where = origin + " line " + std::to_string(node.line);
      if (matcher.starts_with('@')) {
        warnings.push_back(where + ": matcher " + matcher + " of " + node.name + " not applied: the hub answers at " +
                           whole + std::string(kHubPath));
      } else if (path_matches(matcher, seen) == false && path_matches(matcher, seen + "/") == false) {
        warnings.push_back(where + ": " + node.name + " " + matcher + " does not match the hub's path " + seen +
                           " (Caddy would not reach the mercure block through it; strip the prefix with handle_path "
                           "or uri strip_prefix): the hub answers at " +
                           whole + std::string(kHubPath));
      }
    }
    for (const std::string& p : levels[i].stripped) seen = seen.substr(p.size());
  }
  return prefixes;
}

}  // namespace mercure::caddyfile
