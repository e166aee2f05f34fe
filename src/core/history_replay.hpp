#pragma once
// One subscriber's catch-up from the history to the live stream, without gap, duplicate or
// reordering:
//   1. the subscriber is registered in the shard's index with start_replay(): live updates are
//      buffered from then on;
//   2. begin() resolves the resume id to a position (the Last-Event-ID response value);
//   3. step() copies the matching frames stored after the cursor, a bounded slice at a time;
//   4. when a step reaches the end of the store, the caller calls Subscriber::go_live(cursor())
//      in the same turn of its event loop: every update stored up to then was either replayed
//      or is buffered, and the buffered ones already replayed are dropped by seq.
// A store that trims its oldest events (a bounded `size`) may drop buffered updates before a
// step reads them: each step takes the buffered updates up to its cursor from the subscriber,
// and those it did not find in the store are sent from the buffer, in seq order among the
// step's frames. A live update is never lost to the replay's handover.
// Not thread-safe: used by the one connection that owns the subscriber.

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/subscriber.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class HistoryReplay final {
 public:
  struct Start {
    // What the `Last-Event-ID` response header says: the resume id when it is stored, else
    // "earliest" (asked for, unknown, evicted, or an empty history).
    std::string response_last_event_id;
    // Nothing to replay: `resume` is unknown or evicted (like the reference hub, an unknown id
    // replays nothing; the client learns from "earliest" that it may have missed events).
    bool replay_nothing = false;
  };

  HistoryReplay(History& history, std::string_view resume);
  HistoryReplay(const HistoryReplay&) = delete;
  HistoryReplay& operator=(const HistoryReplay&) = delete;

  // Resolves the resume id. Call once, after the subscriber is registered.
  [[nodiscard]] Result<Start> begin();

  // Whether every update with a seq below `below` has reached the subscriber's buffer (when it
  // matches), or never will. See set_gate().
  using Gate = std::function<bool(std::uint64_t below)>;
  // A step that finds events gone from the store (trimmed after the cursor) holds its frames
  // until `gate` says the updates below the oldest stored one have all been handed to the
  // subscriber: a live update trimmed before this replay read it then goes out from the buffer
  // in its place, even one whose broadcast was still on its way. Without a gate nothing is held.
  void set_gate(Gate gate) { gate_ = std::move(gate); }

  // Visits at most `max_events` stored events after the cursor, appending the frames `sub`
  // matches and may see to `out`, and stops early once `out` holds `max_bytes`. Returns true
  // when the end of the store was reached (the replay is complete). A held step (held())
  // returns false and appends nothing; the next step() sends it once the gate allows. An error
  // when events trimmed after the cursor were also dropped from `sub`'s buffer (see
  // Subscriber::push): they cannot be sent any more and the stream must end.
  [[nodiscard]] Result<bool> step(Subscriber& sub, std::string& out, std::size_t max_events, std::size_t max_bytes);

  // A frame a step took from the store: its event's seq and where it starts in the step's output.
  struct Sent {
    std::uint64_t seq = 0;
    std::size_t offset = 0;
  };
  // A step in two halves, for a history whose reads block (History::reads_block()): read()
  // does the step's scan and filtering on any thread (it touches only `history` and `filter`),
  // then apply() hands its result over on the owner's thread, moving the cursor.
  struct Batch {
    Result<History::ScanResult> scanned = History::ScanResult{};
    std::string frames;       // the frames the filter let through
    std::uint64_t sent = 0;   // how many
    std::vector<Sent> marks;  // each of them, in order
  };
  // As step(): at most `max_events` events after `after`, stopping once `frames` holds
  // `max_bytes`, or before the next event once `keep_going` says no (the batch then ends there).
  [[nodiscard]] static Batch read(History& history, std::uint64_t after, const TopicFilter& filter,
                                  std::size_t max_events, std::size_t max_bytes,
                                  const std::function<bool()>& keep_going);
  // Appends the batch's frames to `out` (with `sub`'s buffered updates the store trimmed before
  // the read); returns true when the end of the store was reached. `batch` must have been read
  // from cursor(). It may be held as step() says.
  [[nodiscard]] Result<bool> apply(Batch batch, Subscriber& sub, std::string& out);

  // A step's frames wait for the gate.
  [[nodiscard]] bool held() const { return held_.has_value(); }

  [[nodiscard]] History& history() { return history_; }
  // Error::check of a step that failed because the subscriber fell behind (updates it dropped
  // from its buffer are gone from the store too): its pace or the history size, not a fault.
  static constexpr std::string_view kFellBehind = "fell_behind";

  // seq of the last stored event the replay has dealt with (sent or skipped).
  [[nodiscard]] std::uint64_t cursor() const { return cursor_; }
  [[nodiscard]] std::uint64_t sent() const { return sent_; }

 private:
  // True when `scanned` found events gone right after the cursor.
  [[nodiscard]] bool gap_after_cursor(const History::ScanResult& scanned) const;
  // True when `scanned` found events gone after the cursor that may not all have reached `sub`.
  [[nodiscard]] bool must_hold(const History::ScanResult& scanned) const;
  // True when `scanned` found events gone after the cursor that `sub` may have dropped from its
  // buffer too; lost_error() is then what the step returns.
  [[nodiscard]] bool lost(const History::ScanResult& scanned, const Subscriber& sub) const;
  [[nodiscard]] static Error lost_error();
  // Hands a step's frames (read from the cursor) over: settles, appends, moves the cursor.
  Result<bool> hand_over(const Batch& batch, Subscriber& sub, std::string& out);
  // Takes `sub`'s buffered updates up to the step's end; sends (inserts among the step's frames,
  // which begin at `start` in `out`) those the step did not find in the store.
  void settle(Subscriber& sub, std::uint64_t after, std::uint64_t last, std::span<const Sent> marks, std::string& out,
              std::size_t start);

  History& history_;
  std::string resume_;
  Gate gate_;
  std::uint64_t cursor_ = 0;
  std::uint64_t sent_ = 0;
  std::vector<Sent> marks_;    // step()'s, kept for their capacity
  std::optional<Batch> held_;  // a step waiting for the gate
};

}  // namespace mercure
