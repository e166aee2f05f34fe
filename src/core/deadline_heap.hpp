#pragma once
// An indexed binary min-heap of deadlines, intrusive: each entry knows its slot, so moving or
// removing an entry is O(log n) and needs no search. One heap per shard replaces one timer per
// connection: the shard keeps a single timer armed at the earliest entry.
//
// Thread-safety: none (one shard thread).

#include <chrono>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace mercure {

class DeadlineHeap;

// Derive from it (or hold one); an entry is in at most one heap.
class DeadlineEntry {
 public:
  using Clock = std::chrono::steady_clock;

  [[nodiscard]] bool scheduled() const { return slot_ != kNone; }
  [[nodiscard]] Clock::time_point deadline() const { return at_; }

 private:
  friend class DeadlineHeap;
  static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  Clock::time_point at_{};
  std::size_t slot_ = kNone;
};

class DeadlineHeap final {
 public:
  using Clock = DeadlineEntry::Clock;

  // Inserts `e` at `at`, or moves it there when it is already scheduled.
  void schedule(DeadlineEntry* e, Clock::time_point at) {
    const bool earlier = at < e->at_;
    e->at_ = at;
    if (!e->scheduled()) {
      e->slot_ = heap_.size();
      heap_.push_back(e);
      sift_up(e->slot_);
    } else if (earlier) {
      sift_up(e->slot_);
    } else {
      sift_down(e->slot_);
    }
  }

  // Removes `e` if it is scheduled.
  void cancel(DeadlineEntry* e) {
    if (!e->scheduled()) return;
    const std::size_t slot = e->slot_;
    e->slot_ = DeadlineEntry::kNone;
    DeadlineEntry* last = heap_.back();
    heap_.pop_back();
    if (last == e) return;
    place(last, slot);
    sift_up(slot);
    sift_down(last->slot_);
  }

  // The earliest entry, or nullptr.
  [[nodiscard]] DeadlineEntry* top() const { return heap_.empty() ? nullptr : heap_.front(); }

  // Removes and returns the earliest entry if its deadline is at or before `now`, else nullptr.
  DeadlineEntry* pop_due(Clock::time_point now) {
    if (heap_.empty() || heap_.front()->at_ > now) return nullptr;
    DeadlineEntry* e = heap_.front();
    cancel(e);
    return e;
  }

  [[nodiscard]] std::size_t size() const { return heap_.size(); }
  [[nodiscard]] bool empty() const { return heap_.empty(); }

 private:
  void place(DeadlineEntry* e, std::size_t slot) {
    heap_[slot] = e;
    e->slot_ = slot;
  }

  void sift_up(std::size_t slot) {
    DeadlineEntry* e = heap_[slot];
    while (slot > 0) {
      const std::size_t parent = (slot - 1) / 2;
      if (!(e->at_ < heap_[parent]->at_)) break;
      place(heap_[parent], slot);
      slot = parent;
    }
    place(e, slot);
  }

  void sift_down(std::size_t slot) {
    DeadlineEntry* e = heap_[slot];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * slot + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1]->at_ < heap_[child]->at_) ++child;
      if (!(heap_[child]->at_ < e->at_)) break;
      place(heap_[child], slot);
      slot = child;
    }
    place(e, slot);
  }

  std::vector<DeadlineEntry*> heap_;
};

}  // namespace mercure
