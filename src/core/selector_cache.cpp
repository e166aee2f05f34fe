#include "core/selector_cache.hpp"

namespace mercure {

SelectorCache::SelectorCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const TopicSelector> SelectorCache::get(std::string_view text) {
  std::lock_guard lock(mutex_);
  auto it = map_.find(std::string(text));
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.selector;
  }
  auto selector = TopicSelector::compile(text);
  if (map_.size() >= capacity_) {
    map_.erase(std::string(lru_.back()));
    lru_.pop_back();
  }
  auto [inserted, ok] = map_.emplace(std::string(text), Entry{selector, {}});
  lru_.push_front(inserted->first);
  inserted->second.lru = lru_.begin();
  return selector;
}

std::size_t SelectorCache::size() const {
  std::lock_guard lock(mutex_);
  return map_.size();
}

}  // namespace mercure
