#include "core/uri_template.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

namespace mercure {

namespace {

constexpr std::uint32_t kNoJump = std::numeric_limits<std::uint32_t>::max();

bool is_alpha(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// Character classes of variable values (bit i of kClassTable[byte] = member of class i).
enum CharClass : std::uint8_t {
  kUnreserved = 0,          // ALPHA DIGIT - . _ ~
  kUnreservedComma = 1,     // ... and the "," that joins a non-exploded list
  kUnreservedReserved = 2,  // ... and every reserved character (operators + and #)
};

constexpr std::array<std::uint8_t, 256> make_class_table() {
  std::array<std::uint8_t, 256> t{};
  constexpr std::string_view kReserved = ":/?#[]@!$&'()*+,;=";
  for (int c = 0; c < 256; ++c) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    const bool reserved = kReserved.find(static_cast<char>(c)) != std::string_view::npos;
    std::uint8_t bits = 0;
    if (unreserved) bits |= 1U << kUnreserved;
    if (unreserved || c == ',') bits |= 1U << kUnreservedComma;
    if (unreserved || reserved) bits |= 1U << kUnreservedReserved;
    t[static_cast<std::size_t>(c)] = bits;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kClassTable = make_class_table();

// %80-%BF encodes a UTF-8 continuation byte: part of the character before it.
bool is_continuation_high_digit(unsigned char c) {
  return c == '8' || c == '9' || c == 'A' || c == 'B' || c == 'a' || c == 'b';
}

bool in_class(std::uint8_t cls, unsigned char c) {
  return ((kClassTable[c] >> cls) & 1U) != 0;
}

// RFC 6570 section 2.1: the bytes allowed literally outside expressions ("%" starts a triplet).
bool is_literal_byte(unsigned char c) {
  if (c >= 0x80) return true;  // ucschar / iprivate, UTF-8 encoded
  if (c <= 0x20 || c == 0x7F) return false;
  constexpr std::string_view kForbidden = "\"'%<>\\^`{|}";
  return kForbidden.find(static_cast<char>(c)) == std::string_view::npos;
}

struct Operator {
  std::string_view first;        // emitted before the first defined variable
  char separator = ',';          // between variables and between exploded items
  bool named = false;            // ";", "?", "&": name=value
  bool equals_if_empty = false;  // "?", "&": "name=" for an empty value (";" gives "name")
  bool allow_reserved = false;   // "+", "#"
};

std::optional<Operator> operator_of(char c) {
  switch (c) {
    case '+':
      return Operator{"", ',', false, false, true};
    case '#':
      return Operator{"#", ',', false, false, true};
    case '.':
      return Operator{".", '.', false, false, false};
    case '/':
      return Operator{"/", '/', false, false, false};
    case ';':
      return Operator{";", ';', true, false, false};
    case '?':
      return Operator{"?", '&', true, true, false};
    case '&':
      return Operator{"&", '&', true, true, false};
    default:
      return std::nullopt;
  }
}

struct VarSpec {
  std::string_view name;
  std::uint16_t prefix = 0;  // 0 = no prefix modifier
  bool explode = false;
};

struct Expression {
  Operator op;
  std::vector<VarSpec> vars;
};

// A parsed template: literal[0] expr[0] literal[1] expr[1] ... literal[n].
struct Parsed {
  std::vector<std::string_view> literals;
  std::vector<Expression> expressions;
};

// varname = varchar *( ["."] varchar ); varchar = ALPHA / DIGIT / "_" / pct-encoded
bool valid_varname(std::string_view n) {
  if (n.empty() || n.front() == '.' || n.back() == '.') return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto c = static_cast<unsigned char>(n[i]);
    if (c == '%') {
      if (i + 2 >= n.size() || !is_hex(static_cast<unsigned char>(n[i + 1])) ||
          !is_hex(static_cast<unsigned char>(n[i + 2]))) {
        return false;
      }
      i += 2;
    } else if (c == '.') {
      if (n[i + 1] == '.') return false;  // safe: n does not end with "."
    } else if (!is_alpha(c) && !is_digit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

// varspec = varname [ ":" max-length / "*" ]; max-length = %x31-39 0*3DIGIT
std::optional<VarSpec> parse_varspec(std::string_view s) {
  VarSpec v;
  if (!s.empty() && s.back() == '*') {
    v.explode = true;
    s.remove_suffix(1);
  } else if (const auto colon = s.find(':'); colon != std::string_view::npos) {
    const auto digits = s.substr(colon + 1);
    if (digits.empty() || digits.size() > 4 || digits.front() == '0') return std::nullopt;
    for (const char c : digits) {
      if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
      v.prefix = static_cast<std::uint16_t>(v.prefix * 10 + (c - '0'));
    }
    s = s.substr(0, colon);
  }
  if (!valid_varname(s)) return std::nullopt;
  v.name = s;
  return v;
}

std::optional<Expression> parse_expression(std::string_view body) {
  if (body.empty()) return std::nullopt;
  Expression e;
  if (auto op = operator_of(body.front())) {
    e.op = *op;
    body.remove_prefix(1);
  } else if (std::string_view("=,!@|").find(body.front()) != std::string_view::npos) {
    return std::nullopt;  // operators reserved for future extensions: not expandable
  }
  while (true) {
    const auto comma = body.find(',');
    auto spec = parse_varspec(body.substr(0, comma));
    if (!spec) return std::nullopt;
    e.vars.push_back(*spec);
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
  }
  return e;
}

std::optional<Parsed> parse_template(std::string_view text) {
  Parsed p;
  std::size_t literal_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '{') {
      const auto close = text.find('}', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      auto e = parse_expression(text.substr(i + 1, close - i - 1));
      if (!e) return std::nullopt;
      p.literals.push_back(text.substr(literal_start, i - literal_start));
      p.expressions.push_back(std::move(*e));
      i = close + 1;
      literal_start = i;
    } else if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(static_cast<unsigned char>(text[i + 1])) ||
          !is_hex(static_cast<unsigned char>(text[i + 2]))) {
        return std::nullopt;
      }
      i += 3;
    } else if (is_literal_byte(c)) {
      ++i;
    } else {
      return std::nullopt;
    }
  }
  p.literals.push_back(text.substr(literal_start));
  return p;
}

}  // namespace

// Builds the automaton back to front: every fragment is compiled knowing the node it continues
// to, so no dangling exits need patching (the one loop, exploded items, patches its own split).
class UriTemplate::Builder {
 public:
  explicit Builder(std::vector<Node>& nodes) : nodes_(nodes) {}

  std::uint32_t accept() { return add({Node::Kind::accept, 0, 0, 0, 0, 0}); }

  std::uint32_t literal(std::string_view text, std::uint32_t next) {
    for (auto it = text.rbegin(); it != text.rend(); ++it) next = byte(static_cast<unsigned char>(*it), next);
    return next;
  }

  // Undefined variables are skipped, so an expression expands to nothing, or to `first` then
  // the defined variables in template order joined by the separator. Two chains of choice
  // points ("nothing emitted yet" / "something emitted") encode that in O(variables) nodes.
  std::uint32_t expression(const Expression& e, std::uint32_t next) {
    std::uint32_t after_some = next;     // before variable i, something already emitted
    std::uint32_t after_none = kNoJump;  // before variable i, nothing emitted yet
    for (std::size_t i = e.vars.size(); i-- > 0;) {
      const std::uint32_t value = variable(e.op, e.vars[i], after_some);
      after_none = after_none == kNoJump ? value : split(after_none, value);
      if (i > 0) after_some = split(after_some, byte(static_cast<unsigned char>(e.op.separator), value));
    }
    return split(next, literal(e.op.first, after_none));
  }

 private:
  std::uint32_t add(Node n) {
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  std::uint32_t byte(unsigned char b, std::uint32_t next) { return add({Node::Kind::byte, b, 0, 0, next, 0}); }
  std::uint32_t split(std::uint32_t a, std::uint32_t b) { return add({Node::Kind::split, 0, 0, 0, a, b}); }
  std::uint32_t run(std::uint8_t cls, std::uint16_t max_chars, std::uint32_t next) {
    return add({Node::Kind::run, 0, cls, max_chars, next, 0});
  }

  // What one defined variable expands to (string, list or associative array).
  std::uint32_t variable(const Operator& op, const VarSpec& v, std::uint32_t next) {
    // A prefixed variable is a string; otherwise a non-exploded list or array joins with ",".
    const std::uint8_t item_class = op.allow_reserved ? kUnreservedReserved : kUnreserved;
    const std::uint8_t value_class = op.allow_reserved ? kUnreservedReserved
                                     : v.prefix != 0   ? kUnreserved
                                                       : kUnreservedComma;
    if (!v.explode) {
      const std::uint32_t value = run(value_class, v.prefix, next);
      if (!op.named) return value;
      const std::uint32_t with_value = byte('=', value);
      return literal(v.name, op.equals_if_empty ? with_value : split(next, with_value));
    }
    // Exploded: items joined by the separator. A list item is a value (named: "name=value");
    // an associative array item is "key=value" (named or not, keys are arbitrary).
    const std::uint32_t loop = split(kNoJump, next);  // out: separator then another item, patched below
    std::uint32_t item = 0;
    if (op.named) {
      const std::uint32_t with_value = byte('=', run(item_class, 0, loop));
      item = run(item_class, 0, op.equals_if_empty ? with_value : split(loop, with_value));
    } else if (op.allow_reserved) {
      item = run(item_class, 0, loop);  // "=" is already a member of the class
    } else {
      item = run(item_class, 0, split(loop, byte('=', run(item_class, 0, loop))));
    }
    nodes_[loop].out = byte(static_cast<unsigned char>(op.separator), item);
    return item;
  }

  std::vector<Node>& nodes_;
};

std::optional<UriTemplate> UriTemplate::parse(std::string_view text) {
  auto parsed = parse_template(text);
  if (!parsed || parsed->expressions.empty()) return std::nullopt;
  UriTemplate t;
  t.nodes_.reserve(text.size() * 3 + 8);
  Builder b(t.nodes_);
  t.accept_ = b.accept();
  std::uint32_t next = b.literal(parsed->literals.back(), t.accept_);
  for (std::size_t i = parsed->expressions.size(); i-- > 0;) {
    next = b.expression(parsed->expressions[i], next);
    if (i > 0) next = b.literal(parsed->literals[i], next);
  }
  t.start_ = next;
  t.prefix_ = parsed->literals.front();
  t.suffix_ = parsed->literals.back();
  t.nodes_.shrink_to_fit();
  return t;
}

namespace {

// Where a simulation thread stands inside a run node: between characters, or inside a
// percent-encoded triplet. A UTF-8 continuation byte (%80-%BF) does not count as a character.
enum Sub : std::uint32_t { kBoundary = 0, kAfterPercent = 1, kAfterLeadHex = 2, kAfterContinuationHex = 3 };
constexpr std::uint32_t kSubs = 4;

struct Thread {
  std::uint32_t node;
  std::uint32_t sub;
  std::uint32_t count;  // characters consumed by the current value (bounded runs only)
};

// Per-thread scratch reused across calls. A slot (node * kSubs + sub) belongs to the list being
// built when its stamp equals the current generation; `index` then locates it in that list.
struct Scratch {
  std::vector<std::uint32_t> stamp;
  std::vector<std::uint32_t> index;
  std::vector<Thread> current;
  std::vector<Thread> next;
  std::vector<std::uint32_t> stack;
  std::uint32_t generation = 0;

  void prepare(std::size_t slots) {
    if (stamp.size() < slots) {
      stamp.resize(slots, 0);
      index.resize(slots, 0);
    }
  }
  void next_generation() {
    if (++generation == 0) {  // wrapped: forget every old stamp
      std::fill(stamp.begin(), stamp.end(), 0);
      generation = 1;
    }
  }
};

}  // namespace

bool UriTemplate::matches(std::string_view uri) const {
  // Most topics that do not match already differ in the literal text around the expressions.
  if (uri.size() < prefix_.size() + suffix_.size() || !uri.starts_with(prefix_) || !uri.ends_with(suffix_)) {
    return false;
  }
  uri.remove_prefix(prefix_.size());

  thread_local Scratch s;
  s.prepare(nodes_.size() * kSubs);

  // Keeps, per slot, the smallest character count: a thread that consumed fewer characters
  // of a bounded value can do everything one that consumed more can, so one count suffices.
  auto add_thread = [&](std::vector<Thread>& list, std::uint32_t node, std::uint32_t sub, std::uint32_t count) {
    const std::size_t slot = std::size_t{node} * kSubs + sub;
    if (s.stamp[slot] == s.generation) {
      auto& t = list[s.index[slot]];
      t.count = std::min(t.count, count);
      return false;
    }
    s.stamp[slot] = s.generation;
    s.index[slot] = static_cast<std::uint32_t>(list.size());
    list.push_back({node, sub, count});
    return true;
  };

  // Adds `from` and everything reachable from it without consuming input. A run node entered
  // this way starts a new value (count 0) and may also be left at once (empty value).
  auto add_closure = [&](std::vector<Thread>& list, std::uint32_t from) {
    s.stack.clear();
    s.stack.push_back(from);
    while (!s.stack.empty()) {
      const std::uint32_t n = s.stack.back();
      s.stack.pop_back();
      const Node& node = nodes_[n];
      if (node.kind == Node::Kind::split) {
        const std::size_t slot = std::size_t{n} * kSubs;
        if (s.stamp[slot] == s.generation) continue;
        s.stamp[slot] = s.generation;
        s.stack.push_back(node.out1);
        s.stack.push_back(node.out);
      } else if (add_thread(list, n, kBoundary, 0) && node.kind == Node::Kind::run) {
        s.stack.push_back(node.out);
      }
    }
  };

  // A run thread that just completed a character: it may continue or leave the value.
  auto add_boundary = [&](std::vector<Thread>& list, std::uint32_t node, std::uint32_t count) {
    if (add_thread(list, node, kBoundary, count)) add_closure(list, nodes_[node].out);
  };

  s.next_generation();
  s.current.clear();
  add_closure(s.current, start_);
  for (const char ch : uri) {
    const auto b = static_cast<unsigned char>(ch);
    s.next_generation();
    s.next.clear();
    // Indexing, not iterators: add_* only touch `next`, but keep this robust to reallocation.
    for (std::size_t i = 0; i < s.current.size(); ++i) {
      const Thread t = s.current[i];
      const Node& node = nodes_[t.node];
      if (node.kind == Node::Kind::byte) {
        if (node.byte == b) add_closure(s.next, node.out);
        continue;
      }
      if (node.kind != Node::Kind::run) continue;
      const bool bounded = node.max_chars != 0;
      const bool room = !bounded || t.count < node.max_chars;
      switch (t.sub) {
        case kBoundary:
          if (in_class(node.char_class, b)) {
            if (room) add_boundary(s.next, t.node, bounded ? t.count + 1 : 0);
          } else if (b == '%') {
            add_thread(s.next, t.node, kAfterPercent, t.count);
          }
          break;
        case kAfterPercent:
          if (!is_hex(b)) break;
          if (bounded && is_continuation_high_digit(b)) {
            add_thread(s.next, t.node, kAfterContinuationHex, t.count);
          } else if (room) {
            add_thread(s.next, t.node, kAfterLeadHex, t.count);
          }
          break;
        case kAfterLeadHex:
          if (is_hex(b)) add_boundary(s.next, t.node, bounded ? t.count + 1 : 0);
          break;
        case kAfterContinuationHex:
          if (is_hex(b)) add_boundary(s.next, t.node, t.count);
          break;
        default:
          break;
      }
    }
    s.current.swap(s.next);
    if (s.current.empty()) return false;
  }
  return s.stamp[std::size_t{accept_} * kSubs] == s.generation;
}

}  // namespace mercure
