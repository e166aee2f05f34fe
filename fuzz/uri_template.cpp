// Fuzz target: URI template compile and match (core/uri_template.hpp, core/topic_selector.hpp).
//
// Input: "<template>\n<topic>" (a template cannot hold a raw LF, so the first LF splits them;
// without one the whole input is the template and the topic is empty).
// Properties:
//   1. parse() accepts exactly what an independent reading of the RFC 6570 grammar accepts
//      (with at least one expression; bytes >= 0x80 count as ucschar, as the header says);
//   2. the automaton is linear in the template's size;
//   3. a selector matches its own text; a plain string (no template, not "*") matches only
//      the identical topic; "*" matches everything;
//   4. soundness of the approximation: the template matches every RFC 6570 expansion of
//      itself, for variable values (undefined, strings, lists, maps) drawn from the topic
//      bytes, expanded here by an independent expander (RFC 6570 appendix A);
//   5. matches(topic) never crashes and stays within the time limit (libFuzzer -timeout).

#include "core/uri_template.hpp"
#include "core/topic_selector.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace mercure;

// ---- An independent RFC 6570 reader ------------------------------------------------------

bool is_alpha(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
bool is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_reserved(unsigned char c) {
  return std::string_view(":/?#[]@!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
}

// literals = %x21 / %x23-24 / %x26 / %x28-3B / %x3D / %x3F-5B / %x5D / %x5F / %x61-7A / %x7E
//            / ucschar / iprivate / pct-encoded (handled by the caller)
bool is_literal_char(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x24) || c == 0x26 || (c >= 0x28 && c <= 0x3B) || c == 0x3D ||
         (c >= 0x3F && c <= 0x5B) || c == 0x5D || c == 0x5F || (c >= 0x61 && c <= 0x7A) || c == 0x7E || c >= 0x80;
}

struct Spec {
  std::string name;
  int prefix = 0;
  bool explode = false;
};

struct Expr {
  char op = 0;  // 0 = simple
  std::vector<Spec> specs;
};

struct Piece {
  bool is_expr = false;
  std::string literal;
  Expr expr;
};

// varname = varchar *( ["."] varchar ); varchar = ALPHA / DIGIT / "_" / pct-encoded
std::size_t read_varchar(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  const auto c = static_cast<unsigned char>(s[i]);
  if (is_alpha(c) || is_digit(c) || c == '_') return 1;
  if (c == '%' && i + 2 < s.size() && is_hex(static_cast<unsigned char>(s[i + 1])) &&
      is_hex(static_cast<unsigned char>(s[i + 2]))) {
    return 3;
  }
  return 0;
}

std::optional<Spec> read_spec(std::string_view s) {
  Spec spec;
  std::size_t i = 0;
  std::size_t n = read_varchar(s, i);
  if (n == 0) return std::nullopt;
  i += n;
  for (;;) {
    if (i < s.size() && s[i] == '.') {
      n = read_varchar(s, i + 1);
      if (n == 0) return std::nullopt;
      i += 1 + n;
    } else if ((n = read_varchar(s, i)) != 0) {
      i += n;
    } else {
      break;
    }
  }
  spec.name = std::string(s.substr(0, i));
  if (i == s.size()) return spec;
  if (s[i] == '*' && i + 1 == s.size()) {
    spec.explode = true;
    return spec;
  }
  if (s[i] != ':') return std::nullopt;
  const std::string_view digits = s.substr(i + 1);
  if (digits.empty() || digits.size() > 4 || digits[0] < '1' || digits[0] > '9') return std::nullopt;
  for (const char c : digits) {
    if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
    spec.prefix = spec.prefix * 10 + (c - '0');
  }
  return spec;
}

std::optional<std::vector<Piece>> read_template(std::string_view t) {
  std::vector<Piece> pieces;
  std::string literal;
  for (std::size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c == '{') {
      const std::size_t close = t.find('}', i);
      if (close == std::string_view::npos) return std::nullopt;
      std::string_view body = t.substr(i + 1, close - i - 1);
      Expr e;
      if (!body.empty() && std::string_view("+#./;?&").find(body[0]) != std::string_view::npos) {
        e.op = body[0];
        body.remove_prefix(1);
      }
      // Split on ',' ourselves; an empty varspec is invalid.
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = body.find(',', start);
        auto spec = read_spec(body.substr(start, comma == std::string_view::npos ? body.npos : comma - start));
        if (!spec) return std::nullopt;
        e.specs.push_back(std::move(*spec));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (!literal.empty()) pieces.push_back({false, std::move(literal), {}});
      literal.clear();
      pieces.push_back({true, {}, std::move(e)});
      i = close + 1;
    } else if (c == '%') {
      if (i + 2 >= t.size() || !is_hex(static_cast<unsigned char>(t[i + 1])) ||
          !is_hex(static_cast<unsigned char>(t[i + 2]))) {
        return std::nullopt;
      }
      literal.append(t.substr(i, 3));
      i += 3;
    } else if (is_literal_char(c)) {
      literal.push_back(static_cast<char>(c));
      ++i;
    } else {
      return std::nullopt;
    }
  }
  if (!literal.empty()) pieces.push_back({false, std::move(literal), {}});
  return pieces;
}

// ---- An independent RFC 6570 expander (appendix A) ----------------------------------------

struct Value {
  enum class Kind { undefined, string, list, map } kind = Kind::undefined;
  std::string str;
  std::vector<std::string> list;
  std::vector<std::pair<std::string, std::string>> map;
};

// Draws values from the topic bytes, deterministically.
class Source {
 public:
  explicit Source(std::string_view bytes) : bytes_(bytes) {}
  unsigned char next() { return bytes_.empty() ? 0 : static_cast<unsigned char>(bytes_[pos_++ % bytes_.size()]); }
  std::string text() {
    const std::size_t len = next() % 9;
    std::string s;
    for (std::size_t i = 0; i < len; ++i) s.push_back(static_cast<char>(next()));
    return s;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Value draw(Source& src, bool string_only) {
  Value v;
  const unsigned pick = src.next() % 4;
  if (pick == 0) return v;
  if (pick == 1 || string_only) {
    v.kind = Value::Kind::string;
    v.str = src.text();
    return v;
  }
  const std::size_t n = src.next() % 4;  // 0 items: an empty composite is undefined
  if (pick == 2) {
    v.kind = Value::Kind::list;
    for (std::size_t i = 0; i < n; ++i) v.list.push_back(src.text());
  } else {
    v.kind = Value::Kind::map;
    for (std::size_t i = 0; i < n; ++i) {
      auto key = src.text();
      v.map.emplace_back(std::move(key), src.text());
    }
  }
  if (n == 0) v.kind = Value::Kind::undefined;
  return v;
}

constexpr char kHex[] = "0123456789ABCDEF";

// U (unreserved kept) or U+R (reserved and pct-encoded triplets kept too).
std::string encode(std::string_view s, bool allow_reserved) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_unreserved(c) || (allow_reserved && is_reserved(c))) {
      out.push_back(static_cast<char>(c));
    } else if (allow_reserved && c == '%' && i + 2 < s.size() && is_hex(static_cast<unsigned char>(s[i + 1])) &&
               is_hex(static_cast<unsigned char>(s[i + 2]))) {
      out.append(s.substr(i, 3));
      i += 2;
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The first n characters; a byte 0x80-0xBF continues the character before it (UTF-8), so it
// is kept with it and never counted.
std::string prefix_chars(std::string_view s, int n) {
  int count = 0;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 && c <= 0xBF) continue;
    if (count == n) break;
    ++count;
  }
  return std::string(s.substr(0, i));
}

struct OpInfo {
  std::string_view first;
  char sep;
  bool named;
  std::string_view ifemp;
  bool allow_reserved;
};

OpInfo op_info(char op) {
  switch (op) {
    case '+':
      return {"", ',', false, "", true};
    case '#':
      return {"#", ',', false, "", true};
    case '.':
      return {".", '.', false, "", false};
    case '/':
      return {"/", '/', false, "", false};
    case ';':
      return {";", ';', true, "", false};
    case '?':
      return {"?", '&', true, "=", false};
    case '&':
      return {"&", '&', true, "=", false};
    default:
      return {"", ',', false, "", false};
  }
}

std::string expand(const Expr& e, const std::map<std::string, Value>& values) {
  const OpInfo op = op_info(e.op);
  std::string out;
  bool first = true;
  for (const Spec& spec : e.specs) {
    const Value& v = values.at(spec.name);
    if (v.kind == Value::Kind::undefined) continue;
    out.append(first ? op.first : std::string_view(&op.sep, 1));
    first = false;
    auto enc = [&](std::string_view s) { return encode(s, op.allow_reserved); };
    if (v.kind == Value::Kind::string) {
      if (op.named) {
        out += spec.name;
        if (v.str.empty()) {
          out += op.ifemp;
          continue;
        }
        out += '=';
      }
      out += enc(spec.prefix > 0 ? prefix_chars(v.str, spec.prefix) : v.str);
    } else if (!spec.explode) {
      std::string joined;
      if (v.kind == Value::Kind::list) {
        for (std::size_t i = 0; i < v.list.size(); ++i) joined += (i ? "," : "") + enc(v.list[i]);
      } else {
        for (std::size_t i = 0; i < v.map.size(); ++i) {
          joined += (i ? "," : "") + enc(v.map[i].first) + "," + enc(v.map[i].second);
        }
      }
      if (op.named) {
        out += spec.name;
        out += joined.empty() ? std::string(op.ifemp) : "=";
      }
      out += joined;
    } else if (v.kind == Value::Kind::list) {
      for (std::size_t i = 0; i < v.list.size(); ++i) {
        if (i) out += op.sep;
        if (op.named) {
          out += spec.name;
          if (v.list[i].empty()) {
            out += op.ifemp;
            continue;
          }
          out += '=';
        }
        out += enc(v.list[i]);
      }
    } else {
      for (std::size_t i = 0; i < v.map.size(); ++i) {
        if (i) out += op.sep;
        out += enc(v.map[i].first);
        if (op.named && v.map[i].second.empty()) {
          out += op.ifemp;
          continue;
        }
        out += '=';
        out += enc(v.map[i].second);
      }
    }
  }
  return out;
}

void check_expansion(const UriTemplate& t, const std::vector<Piece>& pieces, std::string_view seed) {
  // One value per variable name (as RFC 6570 has it), composite only where no occurrence
  // carries a prefix modifier.
  std::map<std::string, bool> prefixed;
  for (const Piece& p : pieces) {
    if (!p.is_expr) continue;
    for (const Spec& s : p.expr.specs) prefixed[s.name] = prefixed[s.name] || s.prefix > 0;
  }
  Source src(seed);
  for (int round = 0; round < 3; ++round) {
    std::map<std::string, Value> values;
    for (const auto& [name, string_only] : prefixed) values[name] = draw(src, string_only);
    std::string uri;
    for (const Piece& p : pieces) uri += p.is_expr ? expand(p.expr, values) : p.literal;
    FUZZ_CHECK_MSG(t.matches(uri), uri);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t lf = input.find('\n');
  const std::string_view text = input.substr(0, lf);
  const std::string_view topic = lf == std::string_view::npos ? std::string_view{} : input.substr(lf + 1);

  const auto parsed = UriTemplate::parse(text);
  const auto pieces = read_template(text);
  bool has_expression = false;
  if (pieces) {
    for (const Piece& p : *pieces) has_expression = has_expression || p.is_expr;
  }
  FUZZ_CHECK_MSG(parsed.has_value() == (pieces.has_value() && has_expression), text);

  const auto selector = TopicSelector::compile(text);
  FUZZ_CHECK(selector->text() == text);
  FUZZ_CHECK(selector->matches(text));
  const bool topic_matches = selector->matches(topic);
  if (text == "*") {
    FUZZ_CHECK(selector->is_any() && topic_matches);
  } else if (!parsed) {
    FUZZ_CHECK(selector->is_exact());
    FUZZ_CHECK(topic_matches == (topic == text));
  } else {
    FUZZ_CHECK(!selector->is_exact() && !selector->is_any());
    FUZZ_CHECK(topic_matches == (topic == text || parsed->matches(topic)));
    FUZZ_CHECK(parsed->node_count() <= 8 * text.size() + 8);
    check_expansion(*parsed, *pieces, topic);
  }
  return 0;
}
