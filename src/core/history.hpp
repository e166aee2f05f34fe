#pragma once
// Read access to a transport's stored events, in the transport's global order (by seq).
// Implementations: LmdbTransport's store (src/transport/), test fakes. A transport without
// history (LocalTransport) has none.
//
// Thread-safety: find() and scan() may be called from any thread concurrently with the
// transport's writer; each call sees one consistent snapshot of the store.

#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mercure {

// One stored event as seen during a scan. The views point into the store's snapshot and are
// valid only during the visit call.
struct HistoryEvent {
  std::uint64_t seq = 0;
  std::string_view id;
  std::span<const std::string_view> topics;
  bool is_private = false;
  std::string_view frame;  // the exact SSE bytes sent to subscribers
};

class History {
 public:
  struct ScanResult {
    std::uint64_t last_seq = 0;  // seq of the last event visited; `after` when none was
    bool at_end = false;         // no stored event follows last_seq in the snapshot
    // When the events right after `after` are gone (trimmed, oldest first): a seq such that
    // every event in (after, trimmed_below) is gone (LMDB: the oldest seq the snapshot holds;
    // Redis: one past the newest entry deleted, perhaps one the scan read before its deletion).
    // 0 when none are known gone (also from a history that does not tell).
    std::uint64_t trimmed_below = 0;
  };
  // Return false to stop the scan after this event (it counts as visited).
  using Visitor = std::function<bool(const HistoryEvent&)>;

  virtual ~History() = default;

  // The seq of the stored event with this id; nullopt when unknown or evicted.
  [[nodiscard]] virtual Result<std::optional<std::uint64_t>> find(std::string_view id) = 0;

  // Visits stored events with seq > after, oldest first, until `visit` returns false or
  // `max_events` were visited.
  [[nodiscard]] virtual Result<ScanResult> scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) = 0;

  // As scan(), restricted to the stored events carrying one of `topics` (exact topics): what a
  // resume of a subscriber without template selectors needs, in O(its events) rather than
  // O(every event since). The visitor still sees the whole event (topics, privacy) and decides;
  // it may also see a few events carrying none of `topics` (an index's hash collisions). When
  // the scan reaches the end, last_seq is the newest stored seq (every event up to it was
  // considered). nullopt when this history cannot (no topic index, or it does not cover the
  // events after `after`): scan() then.
  [[nodiscard]] virtual std::optional<Result<ScanResult>> scan_topics(std::uint64_t /*after*/,
                                                                      std::span<const std::string_view> /*topics*/,
                                                                      std::size_t /*max_events*/,
                                                                      const Visitor& /*visit*/) {
    return std::nullopt;
  }

  // The id of the newest stored event; nullopt when the store is empty.
  [[nodiscard]] virtual Result<std::optional<std::string>> last_id() = 0;

  // True when a read waits for the network (Redis: a round trip each), so an event loop must
  // not make it itself (see HistoryReplay::read); false for a store read in place (LMDB).
  [[nodiscard]] virtual bool reads_block() const { return false; }
};

}  // namespace mercure
