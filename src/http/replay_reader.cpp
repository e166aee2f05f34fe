#include "http/replay_reader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mercure {

namespace asio = boost::asio;

// Touched on the shard thread only: the reader thread hands its batch over through a post.
struct ReplayReader::Pending {
  bool reading = false;
  bool abandoned = false;
  std::optional<HistoryReplay::Batch> batch;
};

ReplayReader::ReplayReader(std::unique_ptr<HistoryReplay> replay, asio::thread_pool* readers, asio::io_context& shard)
    : replay_(std::move(replay)), readers_(readers), shard_(shard), pending_(std::make_shared<Pending>()) {}

ReplayReader::~ReplayReader() {
  pending_->abandoned = true;
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
    asio::post(*readers_, [pending = pending_, history = &replay_->history(), after = replay_->cursor(), max_events,
                           max_bytes, shard = &shard_, wake] {
      auto batch = HistoryReplay::read(*history, after, max_events, max_bytes);
      asio::post(*shard, [pending, batch = std::move(batch), wake]() mutable {
        pending->reading = false;
        if (pending->abandoned) return;
        pending->batch = std::move(batch);
        wake();
      });
    });
    return Step::waiting;
  }
  const HistoryReplay::Batch batch = std::move(*pending_->batch);
  pending_->batch.reset();
  auto at_end = replay_->apply(batch, sub, out);
  if (!at_end) return at_end.error();
  return *at_end ? Step::done : Step::more;
}

asio::awaitable<Result<HistoryReplay::Start>> begin_replay(HistoryReplay& replay, asio::thread_pool* readers) {
  if (readers == nullptr) co_return replay.begin();
  // The lookup runs on a reader thread; this coroutine resumes on its own event loop. The
  // server joins the readers before its event loops (and this frame) are destroyed.
  std::optional<Result<HistoryReplay::Start>> start;
  co_await asio::co_spawn(
      *readers,
      [&]() -> asio::awaitable<void> {
        start.emplace(replay.begin());
        co_return;
      },
      asio::use_awaitable);
  co_return std::move(*start);
}

}  // namespace mercure
