#pragma once
// How far a shard has dispatched the transport's updates to its subscribers: what a history
// replay waits on before it sends past events the store trimmed (see HistoryReplay::set_gate).
// The transport hands every update to every shard in seq order after storing it, and a shard
// dispatches them a turn of its event loop later. A replay that finds events gone from the store
// may only send what follows them once the shard has dispatched them all: then any of them this
// subscriber matches is in its buffer, and goes out in order.
//
// Shard thread only.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace mercure {

class DispatchProgress final {
 public:
  // `base`: the transport's newest seq before this run's first broadcast (updates up to it are
  // never dispatched: nothing to wait for); nullopt when the transport makes no such promise
  // (nothing is ever waited for).
  void set_base(std::optional<std::uint64_t> base) { through_ = base ? *base : kEverything; }

  // True when every update with a seq below `below` was dispatched (or never will be).
  [[nodiscard]] bool dispatched_below(std::uint64_t below) const {
    return through_ == kEverything || below <= through_ + 1;
  }

  // After a dispatch of updates up to `seq`: wakes those waiting.
  void dispatched(std::uint64_t seq) {
    if (through_ != kEverything) through_ = std::max(through_, seq);
    if (waiters_.empty()) return;
    std::vector<std::function<void()>> woken;
    woken.swap(waiters_);
    for (auto& w : woken) w();
  }

  // `wake` is called after the next dispatch.
  void on_next_dispatch(std::function<void()> wake) { waiters_.push_back(std::move(wake)); }

 private:
  static constexpr std::uint64_t kEverything = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t through_ = kEverything;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace mercure
