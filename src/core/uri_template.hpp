#pragma once
// RFC 6570 URI templates (levels 1-4, every operator, prefix and explode modifiers) used as
// Mercure topic selectors: a template matches a URI when some variable values expand to it.
//
// The template is compiled once into a Thompson NFA over bytes; matching simulates it over
// the input in O(input length x states) time with no backtracking, whatever the template.
// Variable values are matched by character class, as the reference hub does: unreserved
// characters and percent-encoded triplets, plus reserved characters for `+` and `#`.
//
// Thread-safety: immutable after parse(); matches() is const and may run concurrently.

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class UriTemplate final {
 public:
  // nullopt when `text` is not a valid template or has no expression at all.
  static std::optional<UriTemplate> parse(std::string_view text);

  [[nodiscard]] bool matches(std::string_view uri) const;
  [[nodiscard]] std::size_t state_count() const { return states_.size(); }

  struct State {
    enum class Kind : std::uint8_t { byte_class, split, accept };
    Kind kind = Kind::accept;
    std::uint16_t byte_class = 0;  // index into classes_ (byte_class states)
    int out = -1;                  // next state (byte_class, split)
    int out1 = -1;                 // second branch (split)
  };

 private:
  friend class UriTemplateCompiler;
  UriTemplate() = default;

  std::vector<State> states_;
  std::vector<std::bitset<256>> classes_;
  int start_ = -1;
};

}  // namespace mercure
