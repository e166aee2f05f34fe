#pragma once
// A subscriber's (or a claim's) topic selector: "*", an RFC 6570 URI template, or a plain
// string matched byte for byte. An unparsable template is a plain string.
// Immutable and shared (std::shared_ptr<const TopicSelector>); matches() is thread-safe.

#include "core/uri_template.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class TopicSelector final {
 public:
  static std::shared_ptr<const TopicSelector> compile(std::string_view text);

  [[nodiscard]] bool matches(std::string_view topic) const {
    if (any_) return true;
    if (template_) return topic == text_ || template_->matches(topic);
    return topic == text_;
  }
  [[nodiscard]] bool is_any() const { return any_; }
  [[nodiscard]] bool is_exact() const { return !any_ && !template_; }
  [[nodiscard]] const std::string& text() const { return text_; }

  explicit TopicSelector(std::string text);  // use compile()

 private:
  std::string text_;
  bool any_ = false;
  std::optional<UriTemplate> template_;
};

}  // namespace mercure
