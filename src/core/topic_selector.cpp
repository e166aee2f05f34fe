#include "core/topic_selector.hpp"

namespace mercure {

TopicSelector::TopicSelector(std::string text) : text_(std::move(text)) {
  any_ = text_ == "*";
  if (!any_) template_ = UriTemplate::parse(text_);
}

std::shared_ptr<const TopicSelector> TopicSelector::compile(std::string_view text) {
  return std::make_shared<const TopicSelector>(std::string(text));
}

}  // namespace mercure
