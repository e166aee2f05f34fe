#pragma once
// Compiles each distinct selector text once: a bounded least-recently-used map
// text -> std::shared_ptr<const TopicSelector>. Evicting an entry never invalidates selectors
// already handed out; a later get() of the same text simply compiles it again.
//
// Thread-safety: every member may be called from any thread (one mutex). Used when a
// subscription starts and when a publish is authorized, never on the fan-out path. Compiling
// happens outside the lock.

#include "core/topic_selector.hpp"

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mercure {

class SelectorCache final {
 public:
  static constexpr std::size_t kDefaultCapacity = 10'000;

  // A capacity of 0 is treated as 1.
  explicit SelectorCache(std::size_t capacity = kDefaultCapacity);

  // The compiled selector for `text`, compiled on a miss. Never null.
  [[nodiscard]] std::shared_ptr<const TopicSelector> get(std::string_view text);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    std::shared_ptr<const TopicSelector> selector;
    std::list<std::string_view>::iterator recency;
  };

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string_view> recency_;  // front = most recently used; views of map_'s keys
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
};

}  // namespace mercure
