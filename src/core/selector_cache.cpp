#include "core/selector_cache.hpp"

namespace mercure {

SelectorCache::SelectorCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::shared_ptr<const TopicSelector> SelectorCache::get(std::string_view text) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = map_.find(text); it != map_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second.recency);
      return it->second.selector;
    }
  }
  auto selector = TopicSelector::compile(text);

  std::lock_guard lock(mutex_);
  if (auto it = map_.find(text); it != map_.end()) {  // another thread compiled it meanwhile
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    return it->second.selector;
  }
  if (map_.size() >= capacity_) {
    map_.erase(map_.find(recency_.back()));
    recency_.pop_back();
  }
  auto [it, inserted] = map_.emplace(std::string(text), Entry{selector, {}});
  recency_.push_front(it->first);  // unordered_map keys do not move on rehash
  it->second.recency = recency_.begin();
  return selector;
}

std::size_t SelectorCache::size() const {
  std::lock_guard lock(mutex_);
  return map_.size();
}

}  // namespace mercure
