#include "http/replay_reader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mercure {

namespace asio = boost::asio;

namespace {
// Frames one blocking read copies at most (besides its count of events): the steps of a
// subscriber that matches few of them are not each a read.
constexpr std::size_t kReadBytes = 1 << 20;
}  // namespace

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
  std::optional<HistoryReplay::Batch> batch;
};

ReplayReader::ReplayReader(std::unique_ptr<HistoryReplay> replay, HistoryReaders* readers, asio::io_context& shard)
    : replay_(std::move(replay)), readers_(readers), shard_(shard), pending_(std::make_shared<Pending>()) {}

ReplayReader::~ReplayReader() {
  pending_->abandoned.store(true, std::memory_order_relaxed);
}

bool ReplayReader::reading() const {
  return pending_->reading;
}

Result<ReplayReader::Step> ReplayReader::step(const Subscriber& sub, std::string& out, std::size_t max_events,
                                              std::size_t max_bytes, const std::function<void()>& wake) {
  if (readers_ == nullptr) {
    auto at_end = replay_->step(sub, out, max_events, max_bytes);
    if (!at_end) return at_end.error();
    return *at_end ? Step::done : Step::more;
  }
  if (pending_->reading) return Step::waiting;
  if (!pending_->batch) {
    pending_->reading = true;
    drops_at_read_ = sub.replay_drops();
    asio::post(readers_->pool(), [pending = pending_, readers = readers_, history = &replay_->history(),
                                  after = replay_->cursor(), max_events, shard = &shard_, wake] {
      // Not made for a stream gone meanwhile, nor once the hub stops (its streams are ending).
      if (pending->abandoned.load(std::memory_order_relaxed) || readers->stopping()) return;
      auto batch = HistoryReplay::read(*history, after, max_events, kReadBytes);
      asio::post(*shard, [pending, batch = std::move(batch), wake]() mutable {
        pending->reading = false;
        if (pending->abandoned.load(std::memory_order_relaxed)) return;
        pending->batch = std::move(batch);
        wake();
      });
    });
    return Step::waiting;
  }
  auto at_end = replay_->apply(*pending_->batch, sub, out, max_bytes);
  if (!at_end) return at_end.error();
  if (pending_->batch->used_up()) pending_->batch.reset();
  if (!*at_end) return Step::more;
  // Updates the subscriber dropped from its buffer after the read are only in the store: the
  // read said "the end" before they were there.
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

}  // namespace mercure
