#include "core/uri_template.hpp"

#include <array>

namespace mercure {

namespace {

constexpr std::size_t kMaxPrefix = 9999;

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
  constexpr std::string_view kReserved = ":/?#[]@!$&'()*+,;=";
  return kReserved.find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 6570 section 2.1: which bytes may appear literally outside expressions.
bool is_literal_byte(unsigned char c) {
  if (c >= 0x80) return true;  // ucschar / iprivate (UTF-8 bytes)
  if (c <= 0x20 || c == 0x7F) return false;
  constexpr std::string_view kForbidden = "\"'%<>\\^`{|}";
  return kForbidden.find(static_cast<char>(c)) == std::string_view::npos;
}

struct Operator {
  std::string_view first;
  char separator;
  bool named;
  bool allow_reserved;
  bool empty_needs_equals;  // "?" and "&": name= even for an empty value; ";": name alone
};

std::optional<Operator> operator_of(char c) {
  switch (c) {
    case '+':
      return Operator{"", ',', false, true, false};
    case '#':
      return Operator{"#", ',', false, true, false};
    case '.':
      return Operator{".", '.', false, false, false};
    case '/':
      return Operator{"/", '/', false, false, false};
    case ';':
      return Operator{";", ';', true, false, false};
    case '?':
      return Operator{"?", '&', true, false, true};
    case '&':
      return Operator{"&", '&', true, false, true};
    default:
      return std::nullopt;
  }
}

struct VarSpec {
  std::string_view name;
  std::size_t prefix = 0;  // 0 = none
  bool explode = false;
};

// varname = varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded
bool valid_varname(std::string_view n) {
  if (n.empty() || n.front() == '.' || n.back() == '.') return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto c = static_cast<unsigned char>(n[i]);
    if (c == '%') {
      if (i + 2 >= n.size() || !is_hex(n[i + 1]) || !is_hex(n[i + 2])) return false;
      i += 2;
    } else if (c == '.') {
      if (n[i + 1] == '.') return false;
    } else if (!is_alpha(c) && !is_digit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

std::optional<VarSpec> parse_varspec(std::string_view s) {
  VarSpec v;
  if (!s.empty() && s.back() == '*') {
    v.explode = true;
    s.remove_suffix(1);
  }
  auto colon = s.find(':');
  if (colon != std::string_view::npos) {
    if (v.explode) return std::nullopt;
    auto digits = s.substr(colon + 1);
    if (digits.empty() || digits.size() > 4 || digits.front() == '0') return std::nullopt;
    for (char c : digits) {
      if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
      v.prefix = v.prefix * 10 + static_cast<std::size_t>(c - '0');
    }
    s = s.substr(0, colon);
  }
  if (!valid_varname(s)) return std::nullopt;
  v.name = s;
  return v;
}

}  // namespace

// Builds the NFA with Thompson's construction: fragments with dangling exits to patch.
class UriTemplateCompiler {
 public:
  using State = UriTemplate::State;
  struct Exit {
    int state;
    bool second;
  };
  struct Frag {
    int start;
    std::vector<Exit> exits;
  };

  explicit UriTemplateCompiler(UriTemplate& t) : t_(t) {
    std::bitset<256> hex;
    for (int c = 0; c < 256; ++c) hex[c] = is_hex(static_cast<unsigned char>(c));
    hex_class_ = add_class(hex);
  }

  std::uint16_t add_class(const std::bitset<256>& b) {
    t_.classes_.push_back(b);
    return static_cast<std::uint16_t>(t_.classes_.size() - 1);
  }

  std::uint16_t byte_class_of(unsigned char c) {
    auto& slot = single_[c];
    if (slot == 0) {
      std::bitset<256> b;
      b[c] = true;
      slot = static_cast<std::uint16_t>(add_class(b) + 1);
    }
    return static_cast<std::uint16_t>(slot - 1);
  }

  int add(State s) {
    t_.states_.push_back(s);
    return static_cast<int>(t_.states_.size() - 1);
  }

  void patch(const Frag& f, int target) {
    for (const auto& e : f.exits) {
      auto& s = t_.states_[static_cast<std::size_t>(e.state)];
      (e.second ? s.out1 : s.out) = target;
    }
  }

  Frag byte(std::uint16_t cls) {
    int s = add({State::Kind::byte_class, cls, -1, -1});
    return {s, {{s, false}}};
  }
  Frag literal(std::string_view text) {
    Frag f = epsilon();
    for (char c : text) f = concat(std::move(f), byte(byte_class_of(static_cast<unsigned char>(c))));
    return f;
  }
  Frag epsilon() {
    int s = add({State::Kind::split, 0, -1, -1});
    return {s, {{s, false}}};
  }
  Frag concat(Frag a, Frag b) {
    patch(a, b.start);
    return {a.start, std::move(b.exits)};
  }
  Frag alt(Frag a, Frag b) {
    int s = add({State::Kind::split, 0, a.start, b.start});
    a.exits.insert(a.exits.end(), b.exits.begin(), b.exits.end());
    return {s, std::move(a.exits)};
  }
  Frag star(Frag a) {
    int s = add({State::Kind::split, 0, a.start, -1});
    patch(a, s);
    return {s, {{s, true}}};
  }
  Frag optional(Frag a) {
    int s = add({State::Kind::split, 0, a.start, -1});
    a.exits.push_back({s, true});
    return {s, std::move(a.exits)};
  }

  // One character of a value: a byte of `cls` or a percent-encoded triplet.
  Frag value_char(std::uint16_t cls) {
    return alt(byte(cls), concat(literal("%"), concat(byte(hex_class_), byte(hex_class_))));
  }
  Frag values(std::uint16_t cls, std::size_t prefix) {
    if (prefix == 0) return star(value_char(cls));
    Frag f = epsilon();
    for (std::size_t i = 0; i < prefix; ++i) f = optional(concat(value_char(cls), std::move(f)));
    return f;
  }

  std::uint16_t value_class(const Operator& op, bool extra_comma, bool extra_equals) {
    const int key = (op.allow_reserved ? 1 : 0) | (extra_comma ? 2 : 0) | (extra_equals ? 4 : 0);
    auto& slot = value_classes_[static_cast<std::size_t>(key)];
    if (slot == 0) {
      std::bitset<256> b;
      for (int c = 0; c < 256; ++c) {
        auto uc = static_cast<unsigned char>(c);
        b[c] = is_unreserved(uc) || (op.allow_reserved && is_reserved(uc)) || (extra_comma && uc == ',') ||
               (extra_equals && uc == '=');
      }
      slot = static_cast<std::uint16_t>(add_class(b) + 1);
    }
    return static_cast<std::uint16_t>(slot - 1);
  }

  // What one defined variable can expand to.
  Frag item(const Operator& op, const VarSpec& v) {
    if (!op.named) {
      // A list joins with ","; an exploded associative array gives "key=value" items.
      return values(value_class(op, !v.explode, v.explode), v.prefix);
    }
    if (v.explode) {
      auto cls = value_class(op, false, false);
      return concat(values(cls, 0), optional(concat(literal("="), values(cls, 0))));
    }
    auto value = concat(literal("="), values(value_class(op, true, false), v.prefix));
    return concat(literal(v.name), op.empty_needs_equals ? std::move(value) : optional(std::move(value)));
  }

  Frag any_item(const Operator& op, const std::vector<VarSpec>& vars) {
    Frag f = item(op, vars.front());
    for (std::size_t i = 1; i < vars.size(); ++i) f = alt(std::move(f), item(op, vars[i]));
    return f;
  }

  // Undefined variables are skipped, so an expression is empty or first + items joined by sep.
  Frag expression(const Operator& op, const std::vector<VarSpec>& vars) {
    const char sep[2] = {op.separator, '\0'};
    Frag body = concat(literal(op.first), any_item(op, vars));
    body = concat(std::move(body), star(concat(literal(sep), any_item(op, vars))));
    return optional(std::move(body));
  }

 private:
  UriTemplate& t_;
  std::uint16_t hex_class_ = 0;
  std::array<std::uint16_t, 256> single_{};
  std::array<std::uint16_t, 8> value_classes_{};
};

std::optional<UriTemplate> UriTemplate::parse(std::string_view text) {
  UriTemplate t;
  UriTemplateCompiler c(t);
  UriTemplateCompiler::Frag whole = c.epsilon();
  bool has_expression = false;
  std::size_t i = 0;
  while (i < text.size()) {
    auto uc = static_cast<unsigned char>(text[i]);
    if (uc == '{') {
      auto close = text.find('}', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      auto body = text.substr(i + 1, close - i - 1);
      if (body.empty()) return std::nullopt;
      Operator op{"", ',', false, false, false};
      if (auto o = operator_of(body.front())) {
        op = *o;
        body.remove_prefix(1);
      } else if (std::string_view("=,!@|").find(body.front()) != std::string_view::npos) {
        return std::nullopt;  // reserved for future extensions
      }
      std::vector<VarSpec> vars;
      while (true) {
        auto comma = body.find(',');
        auto spec = parse_varspec(body.substr(0, comma));
        if (!spec || spec->prefix > kMaxPrefix) return std::nullopt;
        vars.push_back(*spec);
        if (comma == std::string_view::npos) break;
        body.remove_prefix(comma + 1);
      }
      whole = c.concat(std::move(whole), c.expression(op, vars));
      has_expression = true;
      i = close + 1;
    } else if (uc == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return std::nullopt;
      whole = c.concat(std::move(whole), c.literal(text.substr(i, 3)));
      i += 3;
    } else {
      if (!is_literal_byte(uc)) return std::nullopt;
      whole = c.concat(std::move(whole), c.literal(text.substr(i, 1)));
      ++i;
    }
  }
  if (!has_expression) return std::nullopt;
  int accept = c.add({State::Kind::accept, 0, -1, -1});
  c.patch(whole, accept);
  t.start_ = whole.start;
  return t;
}

bool UriTemplate::matches(std::string_view uri) const {
  // Thompson simulation: the set of live states advances one byte at a time.
  thread_local std::vector<std::uint32_t> mark;
  thread_local std::uint32_t generation = 0;
  thread_local std::vector<int> current, next, stack;
  if (mark.size() < states_.size()) mark.resize(states_.size(), 0);

  auto add_closure = [&](std::vector<int>& list, int s) {
    stack.clear();
    stack.push_back(s);
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (x < 0 || mark[static_cast<std::size_t>(x)] == generation) continue;
      mark[static_cast<std::size_t>(x)] = generation;
      const State& st = states_[static_cast<std::size_t>(x)];
      if (st.kind == State::Kind::split) {
        stack.push_back(st.out1);
        stack.push_back(st.out);
      } else {
        list.push_back(x);
      }
    }
  };
  auto next_generation = [&] {
    if (++generation == 0) {  // wrapped: forget every old mark
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
  };

  next_generation();
  current.clear();
  add_closure(current, start_);
  for (char ch : uri) {
    const auto b = static_cast<unsigned char>(ch);
    next_generation();
    next.clear();
    for (int s : current) {
      const State& st = states_[static_cast<std::size_t>(s)];
      if (st.kind == State::Kind::byte_class && classes_[st.byte_class][b]) add_closure(next, st.out);
    }
    current.swap(next);
    if (current.empty()) return false;
  }
  for (int s : current) {
    if (states_[static_cast<std::size_t>(s)].kind == State::Kind::accept) return true;
  }
  return false;
}

}  // namespace mercure
