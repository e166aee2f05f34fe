#pragma once
// RFC 6570 URI templates (levels 1-4: every operator, prefix `:n` and explode `*` modifiers)
// used as Mercure topic selectors. A template matches a URI when some variable values expand
// to exactly that URI, with these deliberate approximations:
//   - a value is any run of the characters its operator emits unencoded (unreserved, plus
//     reserved for `+` and `#`) and of percent-encoded triplets `%XX`, as in the reference hub;
//   - each occurrence of a variable is matched independently: `/{x}/{x}` matches `/a/b`
//     (requiring equal values is backreference matching, NP-hard in general);
//   - a prefix `{x:n}` bounds the value to n characters, counting a percent-encoded UTF-8
//     sequence as one character; a prefixed variable only takes string values (RFC 6570 2.4.1).
// Otherwise matching is exact: named parameters (`;`, `?`, `&`) carry the template's names,
// variables appear in template order and at most once per expression, and literals and
// separators match byte for byte.
//
// Cost: parse() is O(template length) and builds an automaton of O(template length) nodes;
// matches() simulates it in O(uri length x nodes) time with no backtracking, whatever the
// template. It allocates nothing, except when a thread first meets a larger template than
// before (per-thread scratch buffers, kept for reuse).
//
// Thread-safety: immutable after parse(); matches() is const and may run concurrently.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class UriTemplate final {
 public:
  // nullopt when `text` is not a valid RFC 6570 template, or when it has no expression at all
  // (then it is a plain string, and callers compare it byte for byte).
  static std::optional<UriTemplate> parse(std::string_view text);

  // True when `uri` is an expansion of this template (see the approximations above).
  [[nodiscard]] bool matches(std::string_view uri) const;

  // The literal text before the first expression: every URI this template matches starts with
  // it, byte for byte (an index may look templates up by it).
  [[nodiscard]] const std::string& literal_prefix() const { return prefix_; }
  // The literal text after the last expression: every URI this template matches ends with it.
  [[nodiscard]] const std::string& literal_suffix() const { return suffix_; }

  // Size of the compiled automaton, for tests and diagnostics.
  [[nodiscard]] std::size_t node_count() const { return nodes_.size(); }

 private:
  class Builder;

  struct Node {
    enum class Kind : std::uint8_t { byte, run, split, accept };
    Kind kind = Kind::accept;
    std::uint8_t byte = 0;        // byte: the byte to match
    std::uint8_t char_class = 0;  // run: which character class values are made of
    std::uint16_t max_chars = 0;  // run: prefix length limit, 0 = unbounded
    std::uint32_t out = 0;        // next node (byte, run exit, split)
    std::uint32_t out1 = 0;       // split: second branch
  };

  UriTemplate() = default;

  std::vector<Node> nodes_;
  std::uint32_t start_ = 0;  // first node after the leading literal
  std::uint32_t accept_ = 0;
  std::string prefix_;  // leading literal (before the first expression), compared directly
  std::string suffix_;  // trailing literal: a quick necessary condition
};

}  // namespace mercure
