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

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace mercure {

class ReplayReader final {
 public:
  enum class Step {
    more,     // frames (maybe none) appended; call again
    done,     // the end of the store was reached: the caller goes live (see HistoryReplay)
    waiting,  // a read is under way; `wake` will be called when it ended
  };

  // `readers`: where blocking reads run, or nullptr to read in place; `shard`: the event loop
  // the stream runs on (where `wake` is called).
  ReplayReader(std::unique_ptr<HistoryReplay> replay, boost::asio::thread_pool* readers,
               boost::asio::io_context& shard);
  // A read under way is abandoned: its result is dropped and `wake` not called.
  ~ReplayReader();
  ReplayReader(const ReplayReader&) = delete;
  ReplayReader& operator=(const ReplayReader&) = delete;

  // Appends the next frames `sub` matches and may see to `out` (see HistoryReplay::step).
  [[nodiscard]] Result<Step> step(const Subscriber& sub, std::string& out, std::size_t max_events,
                                  std::size_t max_bytes, const std::function<void()>& wake);
  // A read is under way: the stream is not stalled, it waits for the store.
  [[nodiscard]] bool reading() const;
  [[nodiscard]] std::uint64_t cursor() const { return replay_->cursor(); }
  [[nodiscard]] std::uint64_t sent() const { return replay_->sent(); }

 private:
  struct Pending;  // shared with the read under way
  std::unique_ptr<HistoryReplay> replay_;
  boost::asio::thread_pool* readers_;
  boost::asio::io_context& shard_;
  std::shared_ptr<Pending> pending_;
};

// Resolves the resume id (HistoryReplay::begin), on `readers` when given (the coroutine waits on
// its event loop meanwhile), else in place.
[[nodiscard]] boost::asio::awaitable<Result<HistoryReplay::Start>> begin_replay(HistoryReplay& replay,
                                                                                boost::asio::thread_pool* readers);

}  // namespace mercure
