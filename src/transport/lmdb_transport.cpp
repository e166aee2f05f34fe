#include "transport/lmdb_transport.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace mercure {

namespace {

constexpr auto kSyncInterval = std::chrono::seconds(1);
// After a failed commit, how often an idle writer checks whether the store takes writes again
// (so that readiness comes back without waiting for a publisher).
constexpr auto kProbeInterval = std::chrono::seconds(1);

// A listener or an acknowledgement that throws must not take the writer thread down.
template <class F, class... Args>
void call_quietly(const char* what, const F& f, Args&&... args) {
  if (!f) return;
  try {
    f(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("lmdb transport: a {} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("lmdb transport: a {} threw", what);
  }
}

}  // namespace

LmdbTransport::LmdbTransport(const LmdbOptions& options, Metrics* metrics)
    : store_(std::make_unique<LmdbStore>(options)),
      max_batch_(std::max<std::size_t>(1, options.max_batch)),
      sync_(options.sync),
      metrics_(metrics) {
  writer_ = std::thread([this] { run(); });
}

LmdbTransport::~LmdbTransport() {
  close();
}

void LmdbTransport::add_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void LmdbTransport::publish(NewUpdatePtr update, Done done) {
  std::unique_lock lock(mutex_);
  if (closing_) {
    lock.unlock();
    call_quietly("publish acknowledgement", done, Result<void>(Error{Errc::unavailable, "hub is shutting down"}));
    return;
  }
  const bool was_empty = queue_.empty();
  queue_.push_back(Pending{std::move(update), std::move(done)});
  lock.unlock();
  // The writer only sleeps on an empty queue; when the queue was not empty it is busy and
  // will take this update with the next batch.
  if (was_empty) wake_.notify_one();
}

bool LmdbTransport::writable() const {
  return !closed_.load() && !last_commit_failed_.load();
}

void LmdbTransport::close() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  closed_.store(true);
  wake_.notify_all();
  std::lock_guard join(join_mutex_);
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

LmdbTransport::Stats LmdbTransport::stats() const {
  return Stats{commits_.load(), updates_.load(), max_batch_seen_.load()};
}

void LmdbTransport::run() {
  std::vector<Pending> batch;
  std::vector<Update*> updates;
  bool unsynced = false;  // sync=false: commits not yet flushed to disk
  auto last_sync = std::chrono::steady_clock::now();
  auto flush = [&] {
    if (auto synced = store_->sync(); !synced) spdlog::error("lmdb transport: {}", synced.error().reason);
    unsynced = false;
    last_sync = std::chrono::steady_clock::now();
  };

  auto probe = [&] {
    if (auto probed = store_->probe_write(); probed) {
      if (last_commit_failed_.exchange(false)) spdlog::info("lmdb transport: the history store takes writes again");
    } else {
      spdlog::debug("lmdb transport: the history store still refuses writes: {}", probed.error().reason);
    }
  };

  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const auto has_work = [&] { return !queue_.empty() || closing_; };
      const bool failing = last_commit_failed_.load();
      if (unsynced || failing) {
        if (!wake_.wait_for(lock, unsynced ? kSyncInterval : kProbeInterval, has_work)) {
          lock.unlock();
          if (unsynced) flush();  // a second without work
          if (failing) probe();
          continue;
        }
      } else {
        wake_.wait(lock, has_work);
      }
      if (queue_.empty()) break;  // closing, and everything queued was written
      const std::size_t n = std::min(queue_.size(), max_batch_);
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }

    updates.clear();
    for (auto& p : batch) updates.push_back(p.update.get());
    auto outcome = store_->write_batch(updates);
    commits_.fetch_add(1, std::memory_order_relaxed);
    updates_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (batch.size() > max_batch_seen_.load(std::memory_order_relaxed)) {
      max_batch_seen_.store(batch.size(), std::memory_order_relaxed);
    }
    if (metrics_ != nullptr) {
      metrics_->commit_batch(batch.size());
      if (outcome) metrics_->updates_committed(outcome->accepted);
    }
    if (!sync_ && outcome && outcome->accepted + outcome->trimmed > 0) unsynced = true;
    deliver(batch, outcome);
    batch.clear();
    if (unsynced && std::chrono::steady_clock::now() - last_sync >= kSyncInterval) flush();
  }
  if (unsynced) flush();
}

void LmdbTransport::deliver(std::vector<Pending>& batch, Result<LmdbStore::BatchOutcome>& outcome) {
  if (!outcome) {
    last_commit_failed_.store(true);
    for (auto& p : batch) call_quietly("publish acknowledgement", p.done, Result<void>(outcome.error()));
    return;
  }
  if (last_commit_failed_.exchange(false)) spdlog::info("lmdb transport: the history store takes writes again");
  // Fan-out first, in seq order (the batch order), then the acknowledgements.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!outcome->results[i]) continue;
    const UpdatePtr shared = std::move(batch[i].update);
    for (const auto& listener : listeners_) call_quietly("listener", listener, shared);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    call_quietly("publish acknowledgement", batch[i].done, std::move(outcome->results[i]));
  }
}

}  // namespace mercure
