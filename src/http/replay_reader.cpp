#include "http/replay_reader.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mercure {

namespace asio = boost::asio;

HistoryReaders::HistoryReaders(std::size_t threads) : pool_(std::make_unique<asio::thread_pool>(threads)) {}

HistoryReaders::~HistoryReaders() {
  stop();
  join();
}

void HistoryReaders::join() {
  pool_->join();
}

// `reading` and `batch` are touched on the shard thread only (the reader thread hands its
// batch over through a post); `abandoned` is also read by the reader thread.
struct ReplayReader::Pending {
  std::atomic<bool> abandoned{false};
  bool reading = false;
  bool awaiting_dispatch = false;  // a held step's wake is registered with the shard's dispatch
  std::optional<HistoryReplay::Batch> batch;
};

ReplayReader::ReplayReader(std::unique_ptr<HistoryReplay> replay, HistoryReaders* readers, asio::io_context& shard,
                           DispatchProgress* dispatch)
    : replay_(std::move(replay)),
      readers_(readers),
      shard_(shard),
      dispatch_(dispatch),
      pending_(std::make_shared<Pending>()) {
  if (dispatch_ != nullptr) {
    replay_->set_gate([dispatch = dispatch_](std::uint64_t below) { return dispatch->dispatched_below(below); });
  }
}

ReplayReader::~ReplayReader() {
  pending_->abandoned.store(true, std::memory_order_relaxed);
}

bool ReplayReader::reading() const {
  return pending_->reading || pending_->awaiting_dispatch;
}

ReplayReader::Step ReplayReader::not_at_end(const std::function<void()>& wake) {
  if (!replay_->held()) return Step::more;
  if (!pending_->awaiting_dispatch) {
    pending_->awaiting_dispatch = true;
    dispatch_->on_next_dispatch([pending = pending_, wake] {
      pending->awaiting_dispatch = false;
      if (!pending->abandoned.load(std::memory_order_relaxed)) wake();
    });
  }
  return Step::waiting;
}

Result<ReplayReader::Step> ReplayReader::step(Subscriber& sub, std::string& out, std::size_t max_events,
                                              std::size_t max_bytes, const std::function<void()>& wake) {
  if (pending_->reading || pending_->awaiting_dispatch) return Step::waiting;
  if (readers_ == nullptr || replay_->held()) {  // read in place, or hand a held batch over
    if (!replay_->held()) drops_at_read_ = sub.replay_drops();
    auto at_end = replay_->step(sub, out, max_events, max_bytes);
    if (!at_end) return at_end.error();
    if (!*at_end) return not_at_end(wake);
    return end_or_more(sub);
  }
  if (!pending_->batch) {
    pending_->reading = true;
    drops_at_read_ = sub.replay_drops();
    asio::post(readers_->pool(),
               [pending = pending_, readers = readers_, history = &replay_->history(), after = replay_->cursor(),
                filter = sub.filter(), max_events, max_bytes, shard = &shard_, wake] {
                 // Not made (or cut short) for a stream gone meanwhile, nor once the hub stops.
                 const auto keep_going = [&] {
                   return !pending->abandoned.load(std::memory_order_relaxed) && !readers->stopping();
                 };
                 if (!keep_going()) return;
                 auto batch = HistoryReplay::read(*history, after, filter, max_events, max_bytes, keep_going);
                 asio::post(*shard, [pending, batch = std::move(batch), wake]() mutable {
                   pending->reading = false;
                   if (pending->abandoned.load(std::memory_order_relaxed)) return;
                   pending->batch = std::move(batch);
                   wake();
                 });
               });
    return Step::waiting;
  }
  HistoryReplay::Batch batch = std::move(*pending_->batch);
  pending_->batch.reset();
  auto at_end = replay_->apply(std::move(batch), sub, out);
  if (!at_end) return at_end.error();
  if (!*at_end) return not_at_end(wake);
  return end_or_more(sub);
}

// Updates the subscriber dropped from its buffer after the read (while it ran on a reader
// thread, or while its batch was held) are only in the store: the read said "the end" before
// they were there.
ReplayReader::Step ReplayReader::end_or_more(const Subscriber& sub) const {
  return sub.replay_drops() == drops_at_read_ ? Step::done : Step::more;
}

asio::awaitable<Result<HistoryReplay::Start>> begin_replay(HistoryReplay& replay, HistoryReaders* readers) {
  if (readers == nullptr) co_return replay.begin();
  // The lookup runs on a reader thread; this coroutine resumes on its own event loop. The
  // server joins the readers before its event loops (and this frame) are destroyed, and once
  // it stops, lookups not begun give up at once.
  std::optional<Result<HistoryReplay::Start>> start;
  co_await asio::co_spawn(
      readers->pool(),
      [&]() -> asio::awaitable<void> {
        if (readers->stopping()) {
          start.emplace(Error{Errc::unavailable, "the hub is stopping"});
        } else {
          start.emplace(replay.begin());
        }
        co_return;
      },
      asio::use_awaitable);
  co_return std::move(*start);
}

DisconnectReason end_of_failed_replay(const Error& e, std::string_view remote) {
  if (e.check == HistoryReplay::kFellBehind) {
    spdlog::warn("subscriber {}: history replay ended: {}", remote, e.reason);
    return DisconnectReason::slow;
  }
  spdlog::error("subscriber {}: history replay failed: {}", remote, e.reason);
  return DisconnectReason::history_failed;
}

}  // namespace mercure
