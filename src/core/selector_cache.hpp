#pragma once
// Compiles selectors once: a bounded least-recently-used cache text -> TopicSelector.
// Thread-safety: get() may be called from any thread (one mutex; used at subscribe and
// publish-authorization time, never on the fan-out path).

#include "core/topic_selector.hpp"

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mercure {

class SelectorCache final {
 public:
  explicit SelectorCache(std::size_t capacity = 10'000);

  [[nodiscard]] std::shared_ptr<const TopicSelector> get(std::string_view text);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const TopicSelector> selector;
    std::list<std::string_view>::iterator lru;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string_view> lru_;  // front = most recent; views into the map's keys
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace mercure
