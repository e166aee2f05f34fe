#include "app/caddyfile_import.hpp"

#include <glob.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace mercure::caddyfile {
namespace {

constexpr int kMaxDepth = 10;

// A snippet's directives and the file that defines it (its relative imports start there, as in
// Caddy, whose tokens keep their file).
struct Snippet {
  std::vector<Node> nodes;
  std::string origin;
};
using Snippets = std::map<std::string, Snippet>;

// Moves the top-level `(name) { ... }` definitions of `nodes`, read from `origin`, into `snippets`.
void take_snippets(std::vector<Node>& nodes, const std::string& origin, Snippets& snippets) {
  std::vector<Node> kept;
  for (Node& node : nodes) {
    if (node.has_block && node.args.empty() && node.name.size() > 2 && node.name.front() == '(' &&
        node.name.back() == ')') {
      snippets[node.name.substr(1, node.name.size() - 2)] = Snippet{std::move(node.children), origin};
    } else {
      kept.push_back(std::move(node));
    }
  }
  nodes = std::move(kept);
}

// `{args[N]}` and `{args.N}` in `text` replaced by the import's words after its pattern.
std::string with_args(const std::string& text, const std::vector<Token>& args) {
  std::string out = text;
  for (std::size_t n = 1; n < args.size(); ++n) {
    for (const std::string& placeholder :
         {"{args[" + std::to_string(n - 1) + "]}", "{args." + std::to_string(n - 1) + "}"}) {
      for (auto at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at)) {
        out.replace(at, placeholder.size(), args[n].text);
        at += args[n].text.size();
      }
    }
  }
  return out;
}

void substitute_args(std::vector<Node>& nodes, const std::vector<Token>& args) {
  if (args.size() < 2) return;
  for (Node& node : nodes) {
    node.name = with_args(node.name, args);
    for (Token& t : node.args) t.text = with_args(t.text, args);
    substitute_args(node.children, args);
  }
}

class Expander {
 public:
  Expander(const settings::Env& env, Snippets snippets) : env_(env), snippets_(std::move(snippets)) {}

  // Expands `nodes`, read from `origin` (whose directory relative imports start from).
  std::vector<Node> expand(std::vector<Node> nodes, const std::string& origin, int depth) {
    std::vector<Node> out;
    for (Node& node : nodes) {
      if (node.name != "import") {
        node.children = expand(std::move(node.children), origin, depth);
        out.push_back(std::move(node));
        continue;
      }
      const std::string where = origin + " line " + std::to_string(node.line);
      if (node.args.empty() || node.has_block)
        settings::file_error("import", where, "import needs a snippet or a file");
      if (depth >= kMaxDepth) {
        settings::file_error("import", where, "imports nested more than 10 deep (one imports itself?)");
      }
      const std::string& pattern = node.args[0].text;
      if (const auto it = snippets_.find(pattern); it != snippets_.end()) {
        std::vector<Node> pasted = it->second.nodes;
        substitute_args(pasted, node.args);
        for (Node& n : expand(std::move(pasted), it->second.origin, depth + 1)) out.push_back(std::move(n));
        continue;
      }
      for (const std::string& file : files(pattern, origin, where)) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) settings::file_error("import", where, "cannot read \"" + file + "\"");
        std::vector<Node> pasted = parse_text(text.str(), file, env_);
        take_snippets(pasted, file, snippets_);
        substitute_args(pasted, node.args);
        for (Node& n : expand(std::move(pasted), file, depth + 1)) out.push_back(std::move(n));
      }
    }
    return out;
  }

 private:
  // The files `pattern` names, relative to the directory of `origin`, sorted (glob's order).
  static std::vector<std::string> files(const std::string& pattern, const std::string& origin,
                                        const std::string& where) {
    std::filesystem::path path(pattern);
    if (path.is_relative()) path = std::filesystem::path(origin).parent_path() / path;
    const std::string full = path.lexically_normal().string();
    const bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    glob_t matches{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &matches);
    std::vector<std::string> found;
    for (std::size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) {
      if (std::filesystem::is_regular_file(matches.gl_pathv[i])) found.emplace_back(matches.gl_pathv[i]);
    }
    ::globfree(&matches);
    if (found.empty() && !wildcard) {
      settings::file_error("import", where, "\"" + pattern + "\" is neither a snippet nor a file (" + full + ")");
    }
    return found;
  }

  const settings::Env& env_;
  Snippets snippets_;
};

}  // namespace

std::vector<Node> expand_imports(std::vector<Node> nodes, const std::string& origin, const settings::Env& env) {
  Snippets snippets;
  take_snippets(nodes, origin, snippets);
  return Expander(env, std::move(snippets)).expand(std::move(nodes), origin, 0);
}

}  // namespace mercure::caddyfile
