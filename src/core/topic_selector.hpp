#pragma once
// A subscriber's (or a JWT claim's) topic selector, compiled once: "*" matches every topic; a
// valid RFC 6570 URI template matches its expansions (see UriTemplate) and its own text; any
// other string, including an unparsable template, matches only the byte-identical topic.
//
// Thread-safety: immutable; share it as std::shared_ptr<const TopicSelector> (compile() or
// SelectorCache::get()) and call matches() from any thread.

#include "core/uri_template.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class TopicSelector final {
  struct Private {
    explicit Private() = default;
  };

 public:
  // Never fails: whatever `text` is, it is a selector. O(text length).
  static std::shared_ptr<const TopicSelector> compile(std::string_view text);

  [[nodiscard]] bool matches(std::string_view topic) const {
    if (any_) return true;
    if (topic == text_) return true;
    return template_.has_value() && template_->matches(topic);
  }
  // The selector "*".
  [[nodiscard]] bool is_any() const { return any_; }
  // A plain string (no template, not "*"): matches only the identical topic, so it can be
  // looked up in a hash map instead of being tested against every topic.
  [[nodiscard]] bool is_exact() const { return !any_ && !template_.has_value(); }
  [[nodiscard]] const std::string& text() const { return text_; }
  // Text every topic this selector matches starts with: empty for "*", the literal text
  // before a template's first expression, the whole text of an exact selector.
  [[nodiscard]] std::string_view required_prefix() const {
    if (any_) return {};
    return template_.has_value() ? std::string_view(template_->literal_prefix()) : std::string_view(text_);
  }
  // The same at the end: text every topic this selector matches ends with.
  [[nodiscard]] std::string_view required_suffix() const {
    if (any_) return {};
    return template_.has_value() ? std::string_view(template_->literal_suffix()) : std::string_view(text_);
  }

  TopicSelector(Private, std::string text);  // use compile()

 private:
  std::string text_;
  bool any_ = false;
  std::optional<UriTemplate> template_;
};

}  // namespace mercure
