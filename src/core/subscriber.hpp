#pragma once
// One subscriber: what it listens to, what it may see privately, and its bounded outbox.
//
// Thread-safety: a Subscriber belongs to one shard and is only touched from that shard's
// thread (registration, dispatch, draining). Updates in the outbox are shared read-only.

#include "core/topic_selector.hpp"
#include "core/update.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mercure {

using UpdatePtr = std::shared_ptr<const Update>;
using SelectorPtr = std::shared_ptr<const TopicSelector>;

struct OutboxLimits {
  std::size_t max_updates = 4096;           // pending frames before the subscriber is cut off
  std::size_t max_bytes = 8 * 1024 * 1024;  // pending bytes before the subscriber is cut off
};

// The history half of Subscriber::matches() as a value any thread may use: copies of the
// (immutable, shared) selectors. A history reader thread filters a replay with it.
struct TopicFilter {
  std::vector<SelectorPtr> selectors;
  std::optional<std::vector<SelectorPtr>> allowed_private;
  [[nodiscard]] bool matches(std::span<const std::string_view> topics, bool is_private) const;
};

class Subscriber final {
 public:
  // `selectors`: the subscribed topic selectors (never empty).
  // `allowed_private`: selectors of the token's mercure.subscribe claim; nullopt = anonymous.
  Subscriber(std::vector<SelectorPtr> selectors, std::optional<std::vector<SelectorPtr>> allowed_private,
             OutboxLimits limits);

  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  [[nodiscard]] const std::vector<SelectorPtr>& selectors() const { return selectors_; }

  // True when any topic of `u` matches a subscribed selector and, for a private update,
  // any topic of `u` matches an allowed private selector.
  [[nodiscard]] bool matches(const Update& u) const;
  // The same test on a stored event's topics (history replay).
  [[nodiscard]] bool matches(std::span<const std::string_view> topics, bool is_private) const;
  // That test as a value, for another thread.
  [[nodiscard]] TopicFilter filter() const { return TopicFilter{selectors_, allowed_private_}; }
  // Only the private-visibility half of matches(): used when the index already matched.
  [[nodiscard]] bool may_see(const Update& u) const;
  // A connect event tagged with this (Update::announces) is not delivered to this subscriber:
  // as on the reference hub, a subscriber does not receive the event announcing itself.
  // 0 = untagged (subscription events off).
  void set_announcement_tag(std::uint64_t tag) { announcement_tag_ = tag; }

  // Appends to the outbox and wakes the writer. On overflow the outbox is dropped, the
  // subscriber is marked overflowed (the stream must close) and later pushes are ignored.
  // While replaying, an overflowing outbox is only emptied: everything in it is also in the
  // history the replay reads (the transport stores before it broadcasts).
  void push(UpdatePtr u);
  // History replay: live updates are buffered (and may be dropped, see push) until go_live().
  void start_replay() { replaying_ = true; }
  [[nodiscard]] bool replaying() const { return replaying_; }
  // How many times push() emptied the buffer of a replaying subscriber (its updates are then
  // only in the history: a replay must read again after such a drop before it goes live).
  [[nodiscard]] std::uint64_t replay_drops() const { return replay_drops_; }
  // Whether an update with a seq in (after, below) may have been emptied out of the buffer
  // (conservative: the dropped updates are known by their lowest and highest seq only). A
  // replay that finds such seqs trimmed from the store can no longer send them.
  [[nodiscard]] bool may_have_dropped_between(std::uint64_t after, std::uint64_t below) const {
    return dropped_highest_ > after && dropped_lowest_ < below;
  }
  // Ends the replay: drops buffered updates with seq <= `replayed_up_to` (already sent from the
  // history) and keeps the newer ones, in order. Updates with seq <= `replayed_up_to` that
  // reach the shard later (committed before the replay's last read, broadcast after it) are
  // ignored by push() too.
  void go_live(std::uint64_t replayed_up_to);
  // While replaying: moves the buffered updates with seq <= `seq` (the oldest ones) to `out`,
  // for the replay step that covered the store up to `seq` (see HistoryReplay).
  void take_buffered_through(std::uint64_t seq, std::vector<UpdatePtr>& out);
  // Swaps all pending updates into `out` (the writer's side; `out` must be empty). The two
  // vectors trade buffers, so steady-state draining allocates nothing.
  void take_pending(std::vector<UpdatePtr>& out);
  [[nodiscard]] bool has_pending() const { return !outbox_.empty(); }
  [[nodiscard]] bool overflowed() const { return overflowed_; }

  // Called on the shard thread after push(); set by the connection that owns the stream.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }
  void wake() const {
    if (wake_) wake_();
  }

  // Bookkeeping owned by SubscriberIndex: the dispatch de-duplication stamp and where this
  // subscriber sits in the index's vectors, so removal is O(selectors), not O(subscribers).
  std::uint64_t last_dispatch = 0;
  struct IndexSlots {
    // Per selector: position in its exact topic's list or its pattern group, or npos (a
    // selector this subscriber already holds earlier in its list).
    std::vector<std::size_t> positions;
    std::size_t all = 0;
  } index_slots;

 private:
  std::vector<SelectorPtr> selectors_;
  std::optional<std::vector<SelectorPtr>> allowed_private_;
  OutboxLimits limits_;
  bool overflowed_ = false;
  bool replaying_ = false;
  std::uint64_t replayed_up_to_ = 0;  // push() ignores updates with seq <= this
  std::uint64_t replay_drops_ = 0;
  std::uint64_t dropped_lowest_ = UINT64_MAX;  // seqs of the updates push() emptied out while replaying
  std::uint64_t dropped_highest_ = 0;
  std::uint64_t announcement_tag_ = 0;
  std::size_t pending_bytes_ = 0;
  std::vector<UpdatePtr> outbox_;
  std::function<void()> wake_;
};

}  // namespace mercure
