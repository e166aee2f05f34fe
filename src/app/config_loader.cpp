#include "app/config_loader.hpp"

#include "app/config_settings.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_verifier.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <sstream>
#include <string_view>

namespace mercure {
namespace {

using settings::find_setting;
using settings::Input;
using settings::inputs;
using settings::Kind;
using settings::SettingSpec;

using Env = std::map<std::string, std::string>;

constexpr unsigned kMaxWorkers = 1024;

// One setting as one source gave it.
struct RawSetting {
  std::vector<std::string> values;  // one for scalars, the items for lists
  std::string name;                 // as the user wrote it: "HEARTBEAT_INTERVAL", "--heartbeat-interval", "heartbeat"
  std::string where;                // "hub.conf line 3", "MERCURE_EXTRA_DIRECTIVES line 1", or empty
};
using Layer = std::map<std::string, RawSetting, std::less<>>;

std::string first_flag_name(std::string_view flags) {
  return std::string(flags.substr(0, flags.find(',')));
}

// A value made safe for a one-line message: escaped, quoted, shortened.
std::string quote(std::string_view value) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char ch : value) {
    if (++shown > 100) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Control characters escaped, so a message stays on one line whatever the input.
std::string printable(std::string_view text) {
  const std::string quoted = quote(text);
  return quoted.substr(1, quoted.size() - 2);
}

// `invalid NAME "VALUE" (WHERE): REASON`; secrets are never echoed.
[[noreturn]] void invalid(const RawSetting& raw, bool secret, const std::string& reason) {
  std::string message = "invalid " + raw.name;
  if (!secret) message += " " + quote(join(raw.values, " "));
  if (!raw.where.empty()) message += " (" + raw.where + ")";
  std::string clean_reason;
  for (char c : reason) {
    const auto u = static_cast<unsigned char>(c);
    clean_reason += (u < 0x20 || u == 0x7f) ? printable(std::string(1, c)) : std::string(1, c);
  }
  throw ConfigError(raw.name, message + ": " + clean_reason);
}

[[noreturn]] void file_error(const std::string& setting, const std::string& where, const std::string& reason) {
  throw ConfigError(setting, where + ": " + reason);
}

// ---------------------------------------------------------------------------------------------
// The Caddyfile-like syntax.

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

std::string env_value(const Env& env, const std::string& name) {
  const auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// Caddy's parse-time `{$NAME}` / `{$NAME:default}`, applied to the whole text before lexing.
std::string substitute_dollar_placeholders(std::string_view text, const Env& env) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find("{$", i);
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) break;
    std::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.empty() || inner.find_first_of("{\n ") != std::string_view::npos) {  // not a placeholder
      out.append(text.substr(i, open + 2 - i));
      i = open + 2;
      continue;
    }
    out.append(text.substr(i, open - i));
    const auto colon = inner.find(':');
    std::string value = env_value(env, std::string(inner.substr(0, colon)));
    if (value.empty() && colon != std::string_view::npos) value = std::string(inner.substr(colon + 1));
    out += value;
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

// Caddy's runtime `{env.NAME}`, applied inside one token: a PEM with newlines stays one token.
std::string substitute_env_placeholders(const std::string& token, const Env& env) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    const auto open = token.find("{env.", i);
    if (open == std::string::npos) break;
    const auto close = token.find('}', open);
    if (close == std::string::npos) break;
    out.append(token, i, open - i);
    out += env_value(env, token.substr(open + 5, close - open - 5));
    i = close + 1;
  }
  out.append(token, i, std::string::npos);
  return out;
}

std::vector<Token> tokenize(std::string_view text, const std::string& origin, const Env& env) {
  std::vector<Token> tokens;
  int line = 1;
  bool at_line_start = true;
  std::size_t i = 0;
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      at_line_start = true;
      ++i;
      continue;
    }
    if (blank(c)) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.line = line;
    t.starts_line = at_line_start;
    at_line_start = false;
    if (c == '"' || c == '`') {
      const char quote_char = c;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char d = text[i];
        if (d == quote_char) {
          closed = true;
          ++i;
          break;
        }
        if (quote_char == '"' && d == '\\' && i + 1 < text.size() && text[i + 1] == '"') {
          t.text += '"';
          i += 2;
          continue;
        }
        if (d == '\n') ++line;
        t.text += d;
        ++i;
      }
      if (!closed) file_error("", origin + " line " + std::to_string(t.line), "unterminated quoted string");
    } else {
      while (i < text.size() && text[i] != '\n' && !blank(text[i])) t.text += text[i++];
      t.open_brace = t.text == "{";
      t.close_brace = t.text == "}";
    }
    t.text = substitute_env_placeholders(t.text, env);
    tokens.push_back(std::move(t));
  }
  return tokens;
}

// Parses lines into directives and blocks, from tokens[i] to the matching "}" (or the end at top).
std::vector<Node> parse_nodes(const std::vector<Token>& tokens, std::size_t& i, const std::string& origin,
                              int open_line) {
  std::vector<Node> nodes;
  while (i < tokens.size()) {
    std::size_t end = i + 1;
    while (end < tokens.size() && !tokens[end].starts_line) ++end;
    const Token& first = tokens[i];
    const std::string where = origin + " line " + std::to_string(first.line);
    if (first.close_brace) {
      if (end - i > 1) file_error("}", where, "unexpected text after '}'");
      if (open_line == 0) file_error("}", where, "'}' without a matching '{'");
      i = end;
      return nodes;
    }
    Node node;
    node.line = first.line;
    const bool opens = tokens[end - 1].open_brace;
    const std::size_t args_end = opens ? end - 1 : end;
    std::size_t name_at = i;
    if (opens && args_end == i) {
      node.name.clear();  // a bare "{": the global options block
    } else {
      node.name = first.text;
      ++name_at;
    }
    for (std::size_t k = i; k < args_end; ++k) {
      if (tokens[k].open_brace) file_error(node.name, where, "'{' must end its line");
      if (tokens[k].close_brace) file_error(node.name, where, "'}' must be on its own line");
    }
    for (std::size_t k = name_at; k < args_end; ++k) node.args.push_back(tokens[k]);
    i = end;
    if (opens) {
      node.has_block = true;
      node.children = parse_nodes(tokens, i, origin, node.line);
    }
    nodes.push_back(std::move(node));
  }
  if (open_line != 0) {
    file_error("{", origin + " line " + std::to_string(open_line), "the block opened here has no closing '}'");
  }
  return nodes;
}

std::vector<Node> parse_text(std::string_view text, const std::string& origin, const Env& env) {
  const std::string expanded = substitute_dollar_placeholders(text, env);
  const std::vector<Token> tokens = tokenize(expanded, origin, env);
  std::size_t i = 0;
  return parse_nodes(tokens, i, origin, 0);
}

// ---------------------------------------------------------------------------------------------
// Directives of the mercure block.

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

// `transport <name> { path P  key value ... }` -> "<name>://P?key=value&...".
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
  for (const Node& option : node.children) {
    const std::string option_where = origin + " line " + std::to_string(option.line);
    if (option.has_block || option.args.size() != 1) {
      file_error(option.name, option_where, "transport option " + quote(option.name) + " takes exactly one value");
    }
    if (option.name == "path") {
      path = percent_encode(option.args[0].text, "/:@");
      continue;
    }
    const bool key_ok = std::all_of(option.name.begin(), option.name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '-' || c == '.';
    });
    if (!key_ok) file_error(option.name, option_where, "invalid transport option name " + quote(option.name));
    query += (query.empty() ? "?" : "&") + option.name + "=" + percent_encode(option.args[0].text, "");
  }
  return name + "://" + path + query;
}

// The reference's directives this hub reads but does not need; accepted with a warning.
constexpr std::string_view kIgnoredDirectives[] = {"name", "topic_selector_cache", "subscriber_list_cache_size",
                                                   "protocol_version_compatibility"};

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
    if (node.name == "publisher_jwks_url" || node.name == "subscriber_jwks_url") {
      file_error(node.name, where,
                 node.name + " is not supported yet; give the key itself with " +
                     node.name.substr(0, node.name.find('_')) + "_jwt <PEM public key> <algorithm>");
    }
    if (std::find(std::begin(kIgnoredDirectives), std::end(kIgnoredDirectives), node.name) !=
        std::end(kIgnoredDirectives)) {
      warnings.push_back(where + ": directive \"" + node.name + "\" is not needed by this hub and is ignored");
      continue;
    }
    const SettingSpec* spec = node.name.find("_jwt_") == std::string::npos ? find_setting(node.name) : nullptr;
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

bool contains_mercure(const Node& node) {
  if (node.name == "mercure") return true;
  return std::any_of(node.children.begin(), node.children.end(), contains_mercure);
}

struct FoundBlock {
  const Node* mercure;
  const Node* site;  // the enclosing site block, if any
};

void find_mercure_blocks(const std::vector<Node>& nodes, const Node* site, int depth, const std::string& origin,
                         std::vector<FoundBlock>& found, std::vector<std::string>& warnings) {
  for (const Node& node : nodes) {
    const std::string where = origin + " line " + std::to_string(node.line);
    if (node.name == "mercure") {
      found.push_back({&node, site});
      continue;
    }
    if (contains_mercure(node)) {
      const bool is_site = depth == 0 && !node.name.empty() && node.name.front() != '(';
      find_mercure_blocks(node.children, is_site ? &node : site, depth + 1, origin, found, warnings);
      continue;
    }
    if (depth == 0 && node.has_block && node.name.empty()) {
      if (!node.children.empty()) warnings.push_back(where + ": global options block ignored");
    } else if (depth == 0 && node.has_block) {
      warnings.push_back(where + ": site block \"" + node.name + "\" ignored (it has no mercure block)");
    } else {
      warnings.push_back(where + ": directive \"" + node.name + "\" ignored (only the mercure block is read)");
    }
  }
}

Layer file_layer(std::string_view text, const std::string& origin, const Env& env, std::vector<std::string>& warnings) {
  const std::vector<Node> nodes = parse_text(text, origin, env);
  std::vector<FoundBlock> found;
  find_mercure_blocks(nodes, nullptr, 0, origin, found, warnings);
  Layer layer;
  if (found.empty()) {
    warnings.push_back(origin + ": no mercure block found; the file sets nothing");
    return layer;
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
  if (block.site != nullptr) {
    std::vector<std::string> words{block.site->name};
    for (const Token& t : block.site->args) words.push_back(t.text);
    RawSetting raw{{join(words, " ")}, "site address", origin + " line " + std::to_string(block.site->line)};
    try {
      const ListenAddress address = parse_server_name(raw.values[0]);
      layer["addr"] = RawSetting{{":" + std::to_string(address.port)}, raw.name, raw.where};
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
  }
  apply_directives(block.mercure->children, origin, layer, warnings);
  return layer;
}

// ---------------------------------------------------------------------------------------------
// Layers from the environment and the flags.

struct RankedLayer {
  Layer layer;
  std::map<std::string, int, std::less<>> rank;

  void put(const Input& input, const RawSetting& raw) {
    for (std::string_view key : input.keys) {
      const auto it = rank.find(key);
      if (it != rank.end() && it->second > input.rank) continue;
      layer[std::string(key)] = raw;
      rank[std::string(key)] = input.rank;
    }
  }
};

RawSetting raw_from_text(const Input& input, const std::string& value, const std::string& name) {
  RawSetting raw{{value}, name, ""};
  if (input.server_name) {
    try {
      raw.values = {":" + std::to_string(parse_server_name(value).port)};
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
  } else if (find_setting(input.keys.front())->kind == Kind::kList) {
    raw.values = parse_list(value);
  }
  return raw;
}

Layer environment_layer(const Env& env, std::vector<std::string>& warnings) {
  RankedLayer ranked;
  for (const Input& input : inputs()) {
    const std::string* value = nullptr;
    std::string used;
    for (std::string_view name : input.env) {
      const auto it = env.find(std::string(name));
      if (it == env.end() || it->second.empty()) continue;
      if (value != nullptr && *value != it->second) {
        throw ConfigError(std::string(name), "conflicting " + used + " and " + std::string(name) +
                                                 ": set only one of them (or both to the same value)");
      }
      if (value == nullptr) {
        value = &it->second;
        used = std::string(name);
      }
    }
    if (value != nullptr) ranked.put(input, raw_from_text(input, *value, used));
  }
  Layer layer = std::move(ranked.layer);
  const std::string extra = env_value(env, "MERCURE_EXTRA_DIRECTIVES");
  if (!extra.empty()) {
    const std::vector<Node> nodes = parse_text(extra, "MERCURE_EXTRA_DIRECTIVES", env);
    apply_directives(nodes, "MERCURE_EXTRA_DIRECTIVES", layer, warnings);
  }
  return layer;
}

Layer dev_layer() {
  Layer layer;
  const std::string name = "--dev";
  layer["anonymous"] = RawSetting{{"true"}, name, ""};
  layer["cors_origins"] = RawSetting{{"*"}, name, ""};
  layer["ui"] = RawSetting{{"true"}, name, ""};
  layer["publisher_jwt_key"] = RawSetting{{std::string(kDevJwtKey)}, name, ""};
  layer["subscriber_jwt_key"] = RawSetting{{std::string(kDevJwtKey)}, name, ""};
  return layer;
}

// ---------------------------------------------------------------------------------------------
// From raw settings to the Config.

unsigned parse_workers(std::string_view text) {
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (!text.empty() && text.front() == '-') throw std::invalid_argument("must not be negative");
    if (text.size() > 9) throw std::invalid_argument("at most " + std::to_string(kMaxWorkers) + " workers");
    throw std::invalid_argument("not a whole number (0 = one worker per core)");
  }
  const unsigned long n = std::stoul(std::string(text));
  if (n > kMaxWorkers) throw std::invalid_argument("at most " + std::to_string(kMaxWorkers) + " workers");
  return static_cast<unsigned>(n);
}

bool valid_cookie_name(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={} \t";
  return std::all_of(name.begin(), name.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f && kSeparators.find(ch) == std::string_view::npos;
  });
}

bool valid_url_scheme_prefix(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(url[0]))) return false;
  return std::all_of(url.begin(), url.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.' || c == '_'; });
}

void apply_setting(Config& c, const SettingSpec& spec, const RawSetting& raw) {
  const std::string& v = raw.values.empty() ? std::string() : raw.values.back();
  const std::string_view key = spec.key;
  try {
    if (key == "addr") {
      const ListenAddress a = parse_listen_address(v);
      c.listen_host = a.host;
      c.listen_port = a.port;
    } else if (key == "workers") {
      c.workers = parse_workers(v);
    } else if (key == "publisher_jwt_key") {
      c.publisher_jwt.key = unfold_pem(v);
    } else if (key == "publisher_jwt_algorithm") {
      c.publisher_jwt.algorithm = v;
    } else if (key == "subscriber_jwt_key") {
      c.subscriber_jwt.key = unfold_pem(v);
    } else if (key == "subscriber_jwt_algorithm") {
      c.subscriber_jwt.algorithm = v;
    } else if (key == "anonymous") {
      c.anonymous = parse_bool(v);
    } else if (key == "subscriptions") {
      c.subscriptions = parse_bool(v);
    } else if (key == "cors_origins") {
      c.cors_origins = raw.values;
    } else if (key == "publish_origins") {
      c.publish_origins = raw.values;
    } else if (key == "cookie_name") {
      if (!valid_cookie_name(v)) throw std::invalid_argument("not a valid cookie name");
      c.cookie_name = v;
    } else if (key == "heartbeat") {
      c.heartbeat = parse_duration(v);
    } else if (key == "write_timeout") {
      c.write_timeout = parse_duration(v);
    } else if (key == "dispatch_timeout") {
      c.dispatch_timeout = parse_duration(v);
    } else if (key == "read_timeout") {
      c.read_timeout = parse_duration(v);
    } else if (key == "transport_url") {
      if (!valid_url_scheme_prefix(v)) {
        throw std::invalid_argument("not a transport URL (examples: local://, lmdb:///var/lib/mercure/hub.db)");
      }
      c.transport_url = v;
    } else if (key == "ui") {
      c.ui = parse_bool(v);
    } else if (key == "demo") {
      c.demo = parse_bool(v);
    } else if (key == "io_uring") {
      c.io_uring = parse_bool(v);
    } else if (key == "debug") {
      c.debug = parse_bool(v);
    } else if (key == "log_format") {
      std::string f = lower(v);
      if (f == "fluentd") f = "json";  // the legacy hub's third format, a JSON variant
      if (f != "text" && f != "json") throw std::invalid_argument("unknown log format (use text or json)");
      c.log_format = f;
    } else if (key == "use_forwarded_headers") {
      c.use_forwarded_headers = parse_bool(v);
    } else if (key == "metrics_enabled") {
      c.metrics_enabled = parse_bool(v);
    } else if (key == "metrics_addr") {
      c.metrics_addr = v;
    } else if (key == "cert_file") {
      c.cert_file = v;
    } else if (key == "key_file") {
      c.key_file = v;
    } else {
      settings::apply_limit_setting(c, key, v);
    }
  } catch (const std::invalid_argument& e) {
    invalid(raw, spec.kind == Kind::kSecret, e.what());
  }
}

std::string supported_algorithms() {
  return "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";
}

void check_role(const JwtRole& role, const std::string& prefix, const Layer& merged, const std::string& missing_hint,
                bool required) {
  const auto raw_of = [&](const std::string& key, const std::string& fallback) {
    const auto it = merged.find(key);
    return it != merged.end() ? it->second : RawSetting{{}, fallback, ""};
  };
  const RawSetting alg_raw = raw_of(prefix + "_jwt_algorithm", "JWT_ALGORITHM");
  const auto alg = parse_jwt_algorithm(role.algorithm);
  if (!alg) invalid(alg_raw, false, "unsupported JWT algorithm (supported: " + supported_algorithms() + ")");
  const RawSetting key_raw = raw_of(prefix + "_jwt_key", "JWT_KEY");
  if (role.key.empty()) {
    if (!required) return;
    const std::string upper = prefix == "publisher" ? "PUBLISHER" : "SUBSCRIBER";
    throw ConfigError(upper + "_JWT_KEY", "missing " + prefix + " JWT key: " + missing_hint);
  }
  auto verifier = JwtVerifier::create(*alg, role.key);
  if (!verifier) {
    invalid(key_raw, true,
            "unusable as a " + std::string(to_string(*alg)) + " " + prefix + " key: " + verifier.error().reason);
  }
}

void check_origins(const std::vector<std::string>& origins, const std::string& setting,
                   std::vector<std::string>& warnings) {
  for (const std::string& o : origins) {
    if (o == "*") continue;
    const auto scheme = o.find("://");
    const bool has_path = scheme != std::string::npos && o.find('/', scheme + 3) != std::string::npos;
    if (scheme == std::string::npos || has_path) {
      std::string warning = setting;
      warning += ": origin " + quote(o);
      warning += " will never match a browser's Origin header (expected scheme://host[:port], no path)";
      warnings.push_back(std::move(warning));
    }
  }
}

Config build_config(const std::vector<const Layer*>& layers, bool dev, std::vector<std::string>& warnings) {
  Layer merged;
  for (const Layer* layer : layers) {
    for (const auto& [key, raw] : *layer) merged[key] = raw;
  }
  Config c;
  c.dev = dev;
  for (const auto& [key, raw] : merged) apply_setting(c, *find_setting(key), raw);

  check_role(c.publisher_jwt, "publisher", merged,
             "the hub cannot authorize publishers (set JWT_KEY or PUBLISHER_JWT_KEY, or publisher_jwt in the "
             "mercure block, or run with --dev)",
             true);
  check_role(c.subscriber_jwt, "subscriber", merged,
             "the hub cannot authorize subscribers (set JWT_KEY or SUBSCRIBER_JWT_KEY, or subscriber_jwt in the "
             "mercure block, or allow anonymous subscribers with ALLOW_ANONYMOUS=1)",
             !c.anonymous);
  if (c.cert_file.empty() != c.key_file.empty()) {
    const std::string given = c.cert_file.empty() ? "KEY_FILE" : "CERT_FILE";
    const std::string missing = c.cert_file.empty() ? "CERT_FILE" : "KEY_FILE";
    throw ConfigError(missing, "missing " + missing + ": " + given + " is set, TLS needs both");
  }
  if (c.metrics_enabled && !c.metrics_addr.empty()) {
    const auto it = merged.find("metrics_addr");
    const RawSetting raw = it != merged.end() ? it->second : RawSetting{{c.metrics_addr}, "METRICS_ADDR", ""};
    ListenAddress metrics;
    try {
      metrics = parse_listen_address(c.metrics_addr);
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
    if (metrics.port != 0 && metrics.port == c.listen_port &&
        (metrics.host == c.listen_host || metrics.host.empty() || c.listen_host.empty())) {
      invalid(raw, false, "the metrics endpoint needs an address other than the hub's");
    }
  }
  check_origins(c.cors_origins, "cors_origins", warnings);
  check_origins(c.publish_origins, "publish_origins", warnings);
  return c;
}

}  // namespace

struct ConfigLoader::FlagValues {
  std::deque<std::vector<std::string>> values;  // one per inputs() entry; deque: stable addresses
  std::string config_path;
  bool dev = false;
};

ConfigLoader::ConfigLoader(std::map<std::string, std::string> env)
    : env_(std::move(env)), flags_(std::make_unique<FlagValues>()) {
  flags_->values.resize(inputs().size());
}

ConfigLoader::~ConfigLoader() = default;

void ConfigLoader::add_flags(CLI::App& app) {
  app.add_option("--config", flags_->config_path,
                 "read a Caddyfile-like file with a mercure { } block (below the environment in precedence)")
      ->type_name("FILE");
  app.add_flag("--dev", flags_->dev,
               "development mode: anonymous subscribers, CORS *, the UI, and the key "
               "!ChangeThisMercureHubJWTSecretKey! for any role without one");
  const auto& all = inputs();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Input& input = all[i];
    if (input.flags.empty()) continue;
    std::string help(input.help);
    if (!input.env.empty()) {
      help += " [env: ";
      for (std::size_t k = 0; k < input.env.size(); ++k) help += (k ? ", " : "") + std::string(input.env[k]);
      help += "]";
    }
    CLI::Option* option = nullptr;
    if (find_setting(input.keys.front())->kind == Kind::kBool) {
      option = app.add_flag(std::string(input.flags), flags_->values[i], help);
    } else {
      option = app.add_option(std::string(input.flags), flags_->values[i], help)
                   ->expected(1)
                   ->allow_extra_args(false)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      option->type_name(std::string(input.type_name));
    }
    if (!input.default_text.empty()) option->default_str(std::string(input.default_text));
  }
}

void ConfigLoader::use_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--config", "invalid --config " + quote(path) + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError("--config", "invalid --config " + quote(path) + ": cannot read the file");
  use_file_text(text.str(), path);
}

void ConfigLoader::use_file_text(std::string text, std::string name) {
  has_file_ = true;
  file_text_ = std::move(text);
  file_name_ = std::move(name);
}

Config ConfigLoader::load() {
  warnings_.clear();
  if (!flags_->config_path.empty()) use_file(flags_->config_path);

  RankedLayer flag_layer;
  const auto& all = inputs();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::vector<std::string>& given = flags_->values[i];
    if (given.empty()) continue;
    const Input& input = all[i];
    const std::string name = first_flag_name(input.flags);
    RawSetting raw{{given.back()}, name, ""};
    if (find_setting(input.keys.front())->kind == Kind::kList) {
      raw.values.clear();
      for (const auto& item : given) {
        for (auto& part : parse_list(item)) raw.values.push_back(std::move(part));
      }
    }
    flag_layer.put(input, raw);
  }

  const Layer dev = flags_->dev ? dev_layer() : Layer{};
  const Layer file = has_file_ ? file_layer(file_text_, file_name_, env_, warnings_) : Layer{};
  const Layer env = environment_layer(env_, warnings_);
  return build_config({&dev, &file, &env, &flag_layer.layer}, flags_->dev, warnings_);
}

}  // namespace mercure
