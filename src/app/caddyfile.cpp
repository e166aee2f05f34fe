#include "app/caddyfile.hpp"

namespace mercure::caddyfile {
namespace {

using settings::Env;
using settings::env_value;
using settings::file_error;

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

}  // namespace

std::vector<Node> parse_text(std::string_view text, const std::string& origin, const Env& env) {
  const std::string expanded = substitute_dollar_placeholders(text, env);
  const std::vector<Token> tokens = tokenize(expanded, origin, env);
  std::size_t i = 0;
  return parse_nodes(tokens, i, origin, 0);
}

}  // namespace mercure::caddyfile
