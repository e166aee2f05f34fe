#include "transport/lmdb_transport.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace mercure {

namespace {

constexpr std::chrono::milliseconds kSyncInterval{1000};
// After a failed commit, how often an idle writer checks whether the store takes writes again
// (so that readiness comes back without waiting for a publisher).
constexpr std::chrono::milliseconds kProbeInterval{1000};

constexpr const char* kWho = "lmdb transport";

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
  std::lock_guard lock(listeners_mutex_);
  listeners_.push_back(std::move(listener));
}

void LmdbTransport::publish(NewUpdatePtr update, Done done) {
  queue_.submit(kWho, std::move(update), std::move(done));
}

bool LmdbTransport::writable() const {
  return !closed_.load() && !last_commit_failed_.load();
}

void LmdbTransport::close() {
  queue_.close();
  closed_.store(true);
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
      if (last_commit_failed_.exchange(false)) {
        spdlog::info("lmdb transport: the history store takes writes again");
        notify_writable();
      }
    } else {
      spdlog::debug("lmdb transport: the history store still refuses writes: {}", probed.error().reason);
    }
  };

  for (;;) {
    const bool failing = last_commit_failed_.load();
    std::optional<std::chrono::milliseconds> wait;
    if (unsynced || failing) wait = unsynced ? kSyncInterval : kProbeInterval;
    const auto taken = queue_.take(batch, max_batch_, wait);
    if (taken == PublishQueue::Taken::drained) break;  // closing, and everything queued was written
    if (taken == PublishQueue::Taken::timeout) {
      if (unsynced) flush();  // a second without work
      if (failing) probe();
      continue;
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
    for (auto& p : batch) call_quietly(kWho, "publish acknowledgement", p.done, Result<void>(outcome.error()));
    return;
  }
  if (last_commit_failed_.exchange(false)) {
    spdlog::info("lmdb transport: the history store takes writes again");
    notify_writable();
  }
  // Fan-out first, in seq order (the batch order), then the acknowledgements.
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!outcome->results[i]) continue;
    const UpdatePtr shared = std::move(batch[i].update);
    for (const auto& listener : listeners_) call_quietly(kWho, "listener", listener, shared);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    call_quietly(kWho, "publish acknowledgement", batch[i].done, std::move(outcome->results[i]));
  }
}

}  // namespace mercure
