#include "core/topic_selector.hpp"

#include <utility>

namespace mercure {

TopicSelector::TopicSelector(Private, std::string text) : text_(std::move(text)) {
  any_ = text_ == "*";
  if (!any_) template_ = UriTemplate::parse(text_);
}

std::shared_ptr<const TopicSelector> TopicSelector::compile(std::string_view text) {
  return std::make_shared<const TopicSelector>(Private{}, std::string(text));
}

}  // namespace mercure
