#pragma once
// A subscriber's history replay as its event stream drives it, from the shard's event loop.
// On a history read in place (LMDB) a step reads and filters at once. On a history whose reads
// block (Redis: a round trip each), a step's read runs on the server's history reader threads
// (HistoryReaders) and the stream is woken when it is done, so a slow or distant store delays
// the resuming subscribers only, never the other streams of the event loop. The same goes for
// resolving the resume id (begin_replay).
//
// Shard thread only (the reads run elsewhere, on copies of what they need).

#include "core/history_replay.hpp"
#include "core/metrics.hpp"
#include "http/dispatch_progress.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace mercure {

// The server's threads for the reads of a history that blocks. stop() (shutdown) makes the
// reads not begun yet give up at once; join() then waits for those under way (each bounded by
// the store's timeout).
class HistoryReaders final {
 public:
  explicit HistoryReaders(std::size_t threads);
  ~HistoryReaders();
  HistoryReaders(const HistoryReaders&) = delete;
  HistoryReaders& operator=(const HistoryReaders&) = delete;

  [[nodiscard]] boost::asio::thread_pool& pool() { return *pool_; }
  [[nodiscard]] bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void stop() { stopping_.store(true, std::memory_order_release); }
  void join();

 private:
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::atomic<bool> stopping_{false};
};

class ReplayReader final {
 public:
  enum class Step {
    more,     // frames (maybe none) appended; call again
    done,     // the end of the store was reached: the caller goes live (see HistoryReplay)
    waiting,  // a read is under way, or the shard's dispatch; `wake` will be called when it ended
  };

  // `readers`: where blocking reads run, or nullptr to read in place; `shard`: the event loop
  // the stream runs on (where `wake` is called); `dispatch`: that shard's, which a step that
  // found events trimmed under it waits on (see HistoryReplay::set_gate), or nullptr.
  ReplayReader(std::unique_ptr<HistoryReplay> replay, HistoryReaders* readers, boost::asio::io_context& shard,
               DispatchProgress* dispatch);
  // A read under way is abandoned (its result dropped, `wake` not called), one not begun is
  // not made.
  ~ReplayReader();
  ReplayReader(const ReplayReader&) = delete;
  ReplayReader& operator=(const ReplayReader&) = delete;

  // Appends the next frames `sub` matches and may see to `out`, at most `max_events` events
  // read and about `max_bytes` (see HistoryReplay::step). A blocking read filters on the reader
  // thread (with `sub.filter()`); the step that reaches the end of the store says `more` (read
  // again) instead of `done` when `sub` dropped buffered updates since its read (a blocking
  // read, or a step held for the dispatch).
  [[nodiscard]] Result<Step> step(Subscriber& sub, std::string& out, std::size_t max_events, std::size_t max_bytes,
                                  const std::function<void()>& wake);
  // A read is under way (or the shard's dispatch): the stream is not stalled, it waits for the
  // store.
  [[nodiscard]] bool reading() const;
  [[nodiscard]] std::uint64_t cursor() const { return replay_->cursor(); }
  [[nodiscard]] std::uint64_t sent() const { return replay_->sent(); }

 private:
  struct Pending;  // shared with the read under way
  // A step ended without reaching the end: held (waits for the dispatch), else more.
  Step not_at_end(const std::function<void()>& wake);
  // A step reached the end of the store: done, or more when `sub` dropped updates since its read.
  [[nodiscard]] Step end_or_more(const Subscriber& sub) const;
  std::unique_ptr<HistoryReplay> replay_;
  HistoryReaders* readers_;
  boost::asio::io_context& shard_;
  DispatchProgress* dispatch_;
  std::shared_ptr<Pending> pending_;
  std::uint64_t drops_at_read_ = 0;  // sub.replay_drops() when the batch was asked for
};

// Resolves the resume id (HistoryReplay::begin), on `readers` when given (the coroutine waits on
// its event loop meanwhile), else in place.
[[nodiscard]] boost::asio::awaitable<Result<HistoryReplay::Start>> begin_replay(HistoryReplay& replay,
                                                                                HistoryReaders* readers);

// Logs why a stream's replay step failed and says how the stream ends: a subscriber that fell
// behind (HistoryReplay::kFellBehind) is `slow`, logged as a warning like an overflowing
// outbox; any other failure (the store could not be read) is `history_failed`, an error.
DisconnectReason end_of_failed_replay(const Error& e, std::string_view remote);

}  // namespace mercure
