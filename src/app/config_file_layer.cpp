#include "app/config_file_layer.hpp"

#include "app/caddy_routes.hpp"
#include "app/caddyfile_import.hpp"
#include "app/config_settings.hpp"

#include <algorithm>
#include <cctype>

namespace mercure::settings {
namespace {

using caddyfile::Node;
using caddyfile::Token;

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s, std::string_view also_safe) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || also_safe.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `transport <name> { path P  key value ... }` -> "<name>://P?key=value&...";
// `transport redis { url redis://h:p/0  key value ... }` -> "redis://h:p/0?key=value&...".
std::string transport_url_from_block(const Node& node, const std::string& origin) {
  const std::string where = origin + " line " + std::to_string(node.line);
  if (node.args.size() != 1 || node.args[0].text.empty()) {
    file_error("transport", where, "transport needs one name (example: transport local)");
  }
  const std::string& name = node.args[0].text;
  const bool scheme_ok =
      std::isalpha(static_cast<unsigned char>(name[0])) && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '+' || c == '-' || c == '.' || c == '_';
      });
  if (!scheme_ok) file_error("transport", where, "invalid transport name " + quote(name));
  std::string path;
  std::string query;
  std::string base_url;  // `url` of a redis block: the server, to which the other options add
  for (const Node& option : node.children) {
    const std::string option_where = origin + " line " + std::to_string(option.line);
    if (option.has_block || option.args.size() != 1) {
      file_error(option.name, option_where, "transport option " + quote(option.name) + " takes exactly one value");
    }
    if (option.name == "path") {
      path = percent_encode(option.args[0].text, "/:@");
      continue;
    }
    if (option.name == "url" && (name == "redis" || name == "rediss")) {
      base_url = option.args[0].text;
      if (!base_url.starts_with(name + "://") && !(name == "redis" && base_url.starts_with("rediss://"))) {
        file_error(option.name, option_where,
                   "the url of a " + name + " transport starts with " + name + "://" +
                       (name == "redis" ? " or rediss://" : ""));
      }
      continue;
    }
    const bool key_ok = std::all_of(option.name.begin(), option.name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '-' || c == '.';
    });
    if (!key_ok) file_error(option.name, option_where, "invalid transport option name " + quote(option.name));
    query += (query.empty() ? "?" : "&") + option.name + "=" + percent_encode(option.args[0].text, "");
  }
  if (!base_url.empty()) {
    if (!path.empty()) file_error("transport", where, "a redis transport takes url, not path");
    if (!query.empty() && base_url.find('?') != std::string::npos) query[0] = '&';
    return base_url + query;
  }
  return name + "://" + path + query;
}

// The reference's directives this hub reads but does not need; accepted with a warning.
constexpr std::string_view kIgnoredDirectives[] = {
    "name",      "topic_selector_cache", "subscriber_list_cache_size", "protocol_version_compatibility",
    "lru_cache",  // v0.12-v0.16
    "cache"};     // v0.11-v0.14

}  // namespace

void apply_directives(const std::vector<Node>& nodes, const std::string& origin, Layer& layer,
                      std::vector<std::string>& warnings) {
  for (const Node& node : nodes) {
    const std::string where = origin + " line " + std::to_string(node.line);
    const auto set = [&](std::string_view key, std::vector<std::string> values) {
      layer[std::string(key)] = RawSetting{std::move(values), node.name, where};
    };
    const std::size_t argc = node.args.size();
    const auto arg = [&](std::size_t k) -> const std::string& { return node.args[k].text; };

    if (node.name == "transport") {
      set("transport_url", {transport_url_from_block(node, origin)});
      continue;
    }
    if (node.has_block) file_error(node.name, where, "directive " + quote(node.name) + " does not take a block");
    if (node.name == "publisher_jwt" || node.name == "subscriber_jwt") {
      if (argc < 1 || argc > 2) {
        file_error(node.name, where,
                   node.name + " takes a key and an optional algorithm (example: " + node.name +
                       " !ChangeThisMercureHubJWTSecretKey! HS256)");
      }
      const std::string role = node.name == "publisher_jwt" ? "publisher" : "subscriber";
      if (!arg(0).empty()) set(role + "_jwt_key", {arg(0)});
      if (argc == 2 && !arg(1).empty()) set(role + "_jwt_algorithm", {arg(1)});
      continue;
    }
    if (std::find(std::begin(kIgnoredDirectives), std::end(kIgnoredDirectives), node.name) !=
        std::end(kIgnoredDirectives)) {
      warnings.push_back(where + ": directive \"" + node.name + "\" is not needed by this hub and is ignored" +
                         (node.name == "protocol_version_compatibility"
                              ? " (the older drafts' Last-Event-ID query parameter is always read; publishing "
                                "without topics in mercure.publish is refused)"
                              : ""));
      continue;
    }
    // `site` is the site address's, `path_prefix` the enclosing handle_path's: not directives.
    const bool directive =
        node.name.find("_jwt_") == std::string::npos && node.name != "site" && node.name != "path_prefix";
    const SettingSpec* spec = directive ? find_setting(node.name) : nullptr;
    if (spec == nullptr)
      file_error(node.name, where, "unknown directive " + quote(node.name) + " in the mercure block");
    switch (spec->kind) {
      case Kind::kBool:
        if (argc > 1) file_error(node.name, where, node.name + " takes at most one value (true or false)");
        if (argc == 0) {
          set(spec->key, {"true"});
        } else if (!arg(0).empty()) {
          set(spec->key, {arg(0)});
        }
        break;
      case Kind::kList: {
        if (argc == 0) file_error(node.name, where, node.name + " needs at least one value");
        std::vector<std::string> items;
        for (const Token& t : node.args) {
          for (auto& item : parse_list(t.text)) items.push_back(std::move(item));
        }
        if (!items.empty()) set(spec->key, std::move(items));
        break;
      }
      default:
        if (argc != 1) file_error(node.name, where, node.name + " takes exactly one value");
        if (!arg(0).empty()) set(spec->key, {arg(0)});
        break;
    }
  }
}

void apply_global_options(const std::vector<Node>& nodes, const std::string& origin, Layer& layer,
                          std::vector<std::string>& warnings) {
  static constexpr std::pair<std::string_view, std::string_view> kOptions[] = {
      {"email", "acme_email"},         {"acme_ca", "acme_ca"},     {"acme_ca_root", "acme_ca_root"},
      {"auto_https", "auto_https"},    {"http_port", "http_port"}, {"admin", "admin"},
      {"grace_period", "grace_period"}};
  for (const Node& node : nodes) {
    const std::string where = origin + " line " + std::to_string(node.line);
    if (node.name == "local_certs") {
      file_error(node.name, where,
                 "local_certs (Caddy's local CA for every site) is not offered: give the files (tls <cert_file> "
                 "<key_file>), or remove it to obtain the certificate by ACME");
    }
    if (node.name == "servers") {
      // Caddy's per-server options: `metrics` there turns the metrics on (the reference's Helm
      // chart documents it so); the others are not read.
      for (const Node& child : node.children) {
        if (child.name == "metrics") {
          // METRICS_ENABLED given beside GLOBAL_OPTIONS (one layer) says more.
          layer.emplace("metrics_enabled", RawSetting{{"true"}, std::string(kServersMetrics), where});
        } else {
          warnings.push_back(origin + " line " + std::to_string(child.line) + ": server option \"" + child.name +
                             "\" ignored");
        }
      }
      continue;
    }
    if (node.name == "admin" && node.has_block) {
      warnings.push_back(where + ": the admin block's options ignored (its address is read)");
    }
    const auto* option =
        std::find_if(std::begin(kOptions), std::end(kOptions), [&](const auto& o) { return o.first == node.name; });
    if (option == std::end(kOptions)) {
      warnings.push_back(where + ": global option \"" + node.name + "\" ignored");
      continue;
    }
    if (node.name == "admin" && node.has_block && node.args.empty()) continue;  // the default address, warned above
    if ((node.has_block && node.name != "admin") || node.args.size() != 1) {
      file_error(node.name, where, "global option " + quote(node.name) + " takes one value");
    }
    layer[std::string(option->second)] = RawSetting{{node.args[0].text}, node.name, where};
  }
}

namespace {

bool contains_mercure(const Node& node) {
  if (node.name == "mercure") return true;
  return std::any_of(node.children.begin(), node.children.end(), contains_mercure);
}

struct FoundBlock {
  const Node* mercure;
  const Node* site;                // the enclosing site block, if any
  std::vector<const Node*> chain;  // the enclosing blocks, outermost first (the site's included)
};

void find_mercure_blocks(const std::vector<Node>& nodes, std::vector<const Node*>& chain, const std::string& origin,
                         std::vector<FoundBlock>& found, std::vector<std::string>& warnings) {
  const std::size_t depth = chain.size();
  const Node* site = depth > 0 && !chain[0]->name.empty() && chain[0]->name.front() != '(' ? chain[0] : nullptr;
  for (const Node& node : nodes) {
    const std::string where = origin + " line " + std::to_string(node.line);
    if (node.name == "mercure") {
      found.push_back({&node, site, chain});
      continue;
    }
    if (contains_mercure(node)) {
      chain.push_back(&node);
      find_mercure_blocks(node.children, chain, origin, found, warnings);
      chain.pop_back();
      continue;
    }
    if (depth == 1 && site != nullptr && node.name == "tls") continue;  // read with the site (site_tls)
    if (depth > 0 && node.name == "uri" &&
        std::any_of(node.args.begin(), node.args.end(), [](const Token& t) { return t.text == "strip_prefix"; })) {
      continue;  // on the way to the mercure block: read by hub_path_prefixes
    }
    if (depth == 0 && node.has_block && node.name.empty()) {
      continue;  // the global options block: apply_global_options
    } else if (depth == 0 && node.has_block) {
      warnings.push_back(where + ": site block \"" + node.name + "\" ignored (it has no mercure block)");
    } else {
      warnings.push_back(where + ": directive \"" + node.name + "\" ignored (only the mercure block is read)");
    }
  }
}

// The site's `tls <cert_file> <key_file>` (Caddy's directive, with files given): the hub's
// cert_file and key_file. Other forms ask Caddy for certificates it would obtain itself.
void site_tls(const Node& site, const std::string& origin, Layer& layer, std::vector<std::string>& warnings) {
  for (const Node& node : site.children) {
    if (node.name != "tls") continue;
    const std::string where = origin + " line " + std::to_string(node.line);
    if (node.args.size() == 2 && !node.has_block) {
      layer["cert_file"] = RawSetting{{node.args[0].text}, "tls", where};
      layer["key_file"] = RawSetting{{node.args[1].text}, "tls", where};
    } else if (node.args.size() == 1 && !node.has_block && node.args[0].text.find('@') != std::string::npos) {
      layer["acme_email"] = RawSetting{{node.args[0].text}, "tls", where};  // Caddy's `tls <email>`
    } else if (node.args.size() == 1 && node.args[0].text == "internal") {
      // Caddy's own local CA: refused rather than obtained from a public CA or served in clear.
      file_error("tls", where,
                 "tls internal (Caddy's local CA) is not offered: give the files (tls <cert_file> <key_file>), "
                 "or remove it (a public name then gets its certificate by ACME; localhost and other local names "
                 "are served in plain HTTP)");
    } else {
      warnings.push_back(where +
                         ": directive \"tls\" ignored: give the files (tls <cert_file> <key_file>) or an email "
                         "address for the ACME account (tls <email>)");
    }
  }
}

// Caddy's directives that may stand on a line of their own at the top of a file (before a braced
// site, or ignored outside the mercure block): never a site address.
constexpr std::string_view kCaddyDirectives[] = {
    "abort",         "acme_server", "basic_auth",   "basicauth",    "bind",           "encode",
    "error",         "file_server", "forward_auth", "fs",           "handle",         "handle_errors",
    "handle_path",   "header",      "import",       "intercept",    "invoke",         "log",
    "log_append",    "log_name",    "log_skip",     "map",          "method",         "metrics",
    "php_fastcgi",   "push",        "redir",        "request_body", "request_header", "respond",
    "reverse_proxy", "rewrite",     "root",         "route",        "skip_log",       "templates",
    "tls",           "tracing",     "try_files",    "uri",          "vars",           "mercure"};

// Caddy's single site without braces (the reference's own Caddyfile up to v0.15): the first line
// after the global options is the site address, and the rest of the file is that site's body.
// Only a first line that reads as one address (a port, a scheme, a dot, or localhost) and is no
// directive of Caddy's is taken so, with a warning naming it.
std::vector<Node> with_braceless_site(std::vector<Node> nodes, const std::string& origin,
                                      std::vector<std::string>& warnings) {
  auto first = nodes.begin();
  if (first != nodes.end() && first->name.empty() && first->has_block) ++first;  // global options
  if (first == nodes.end() || first->has_block || !first->args.empty() || std::next(first) == nodes.end() ||
      std::find(std::begin(kCaddyDirectives), std::end(kCaddyDirectives), first->name) != std::end(kCaddyDirectives)) {
    return nodes;
  }
  const std::string& name = first->name;
  const bool address_like = name.find_first_of(".:") != std::string::npos || name == "localhost";
  if (!address_like) return nodes;
  try {
    (void)parse_site_address(name);
  } catch (const std::invalid_argument&) {
    return nodes;
  }
  warnings.push_back(origin + " line " + std::to_string(first->line) + ": \"" + name +
                     "\" read as the address of a site without braces (the rest of the file is its body)");
  Node site = std::move(*first);
  site.has_block = true;
  site.children.assign(std::make_move_iterator(std::next(first)), std::make_move_iterator(nodes.end()));
  nodes.erase(first, nodes.end());
  nodes.push_back(std::move(site));
  return nodes;
}

}  // namespace

Layer file_layer(std::string_view text, const std::string& origin, const Env& env, std::vector<std::string>& warnings) {
  const std::vector<Node> nodes = with_braceless_site(
      caddyfile::expand_imports(caddyfile::parse_text(text, origin, env), origin, env), origin, warnings);
  std::vector<FoundBlock> found;
  std::vector<const Node*> chain;
  find_mercure_blocks(nodes, chain, origin, found, warnings);
  Layer layer;
  if (found.empty()) {
    // A file meant for this hub that sets nothing would start a hub on defaults instead of the
    // settings the operator wrote.
    throw ConfigError(origin, origin + ": no mercure block found (the settings are read from a mercure { } block)");
  }
  if (found.size() > 1) {
    file_error(
        "mercure",
        origin + " lines " + std::to_string(found[0].mercure->line) + " and " + std::to_string(found[1].mercure->line),
        "more than one mercure block; this hub serves one");
  }
  const FoundBlock& block = found.front();
  const std::string block_where = origin + " line " + std::to_string(block.mercure->line);
  if (!block.mercure->args.empty()) {
    warnings.push_back(block_where + ": arguments of the mercure directive ignored (the hub path is fixed)");
  }
  for (const Node& node : nodes) {
    if (node.has_block && node.name.empty()) apply_global_options(node.children, origin, layer, warnings);
  }
  if (block.site != nullptr) {
    std::vector<std::string> words{block.site->name};
    for (const Token& t : block.site->args) words.push_back(t.text);
    RawSetting raw{{join(words, " ")}, "site address", origin + " line " + std::to_string(block.site->line)};
    try {
      const ListenAddress address = parse_server_name(raw.values[0]);
      layer["addr"] = RawSetting{{":" + std::to_string(address.port)}, raw.name, raw.where};
      layer["site"] = RawSetting{{raw.values[0]}, raw.name, raw.where};
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
    site_tls(*block.site, origin, layer, warnings);
  }
  if (auto prefixes = caddyfile::hub_path_prefixes(block.chain, origin, warnings); !prefixes.empty()) {
    layer["path_prefix"] = RawSetting{std::move(prefixes), "handle_path", block_where};
  }
  apply_directives(block.mercure->children, origin, layer, warnings);
  return layer;
}

}  // namespace mercure::settings
