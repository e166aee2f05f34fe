#pragma once
// The default transport: durable history in an LMDB store (transport/lmdb_store.hpp) with
// group commit.
//
// publish() only queues {update, done} and returns. One writer thread takes everything queued
// (up to max_batch) while the previous commit was in flight and writes it in one transaction
// (commit = fsync unless sync=false). After the commit it calls, in seq order, every listener
// with each accepted update, then every `done` of the batch (ok, 409 for a duplicate id, 503
// when the store refused the batch). So a publisher is acknowledged only once its update is
// durable, subscribers never see an update that is not stored, and listeners see seq order.
// Listeners and `done` run on the writer thread: they must be cheap and must not block (nor
// destroy the transport).
//
// With sync=false the store does not fsync at commit; the writer flushes at most once a second
// (after a commit, or after a second without work) and at close, so a power failure or an OS
// crash may lose the last second of acknowledged updates; a process crash loses nothing.
//
// Thread-safety: every public member may be called from any thread, except that add_listener()
// must be called before the first publish().

#include "core/metrics.hpp"
#include "core/transport.hpp"
#include "transport/lmdb_options.hpp"
#include "transport/lmdb_store.hpp"
#include "transport/publish_queue.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace mercure {

class LmdbTransport final : public Transport {
 public:
  struct Stats {
    std::uint64_t commits = 0;         // batches taken by the writer thread (one transaction each)
    std::uint64_t updates = 0;         // updates in those batches (accepted or rejected)
    std::uint64_t max_batch_seen = 0;  // largest batch so far
  };

  // Opens the store and starts the writer thread. Throws StoreError.
  // `metrics` (optional, must outlive the transport) is told, from the writer thread, the size
  // of every batch (commit_batch) and the number of updates each commit accepted.
  explicit LmdbTransport(const LmdbOptions& options, Metrics* metrics = nullptr);
  // Closes (drains the queue) and joins the writer.
  ~LmdbTransport() override;
  LmdbTransport(const LmdbTransport&) = delete;
  LmdbTransport& operator=(const LmdbTransport&) = delete;

  void add_listener(Listener listener) override;
  void publish(NewUpdatePtr update, Done done) override;
  [[nodiscard]] History* history() override { return store_.get(); }
  // Every stored update is broadcast, in seq order, after its commit.
  [[nodiscard]] std::optional<std::uint64_t> broadcast_from() const override { return store_->last_seq(); }
  // False after close() and while the last commit failed. After a failure the idle writer
  // probes the store every second (LmdbStore::probe_write) and is writable again once it passes.
  [[nodiscard]] bool writable() const override;
  // Idempotent. Refuses new publishes (503 "hub is shutting down"), commits and acknowledges
  // everything already queued, joins the writer thread.
  void close() override;

  [[nodiscard]] Stats stats() const;
  [[nodiscard]] std::uint64_t stored_events() const { return store_->count(); }
  [[nodiscard]] LmdbStore& store() { return *store_; }

 private:
  using Pending = PublishQueue::Pending;

  void run();
  void deliver(std::vector<Pending>& batch, Result<LmdbStore::BatchOutcome>& outcome);

  std::unique_ptr<LmdbStore> store_;
  const std::size_t max_batch_;
  const bool sync_;
  Metrics* const metrics_;
  std::vector<Listener> listeners_;  // written before the first publish, then read by the writer

  std::mutex listeners_mutex_;  // guards listeners_ (writes)
  PublishQueue queue_;

  std::atomic<bool> closed_{false};
  std::atomic<bool> last_commit_failed_{false};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> updates_{0};
  std::atomic<std::uint64_t> max_batch_seen_{0};

  std::mutex join_mutex_;
  std::thread writer_;  // last: started once everything above exists
};

}  // namespace mercure
