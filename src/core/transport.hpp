#pragma once
// Where updates go once accepted: stored (when the transport keeps history) and broadcast to
// every listener (one per shard). Implementations: LocalTransport (no history, here),
// LmdbTransport and RedisTransport (src/transport/).

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/update.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace mercure {

class Transport {
 public:
  using UpdatePtr = std::shared_ptr<const Update>;
  // Not yet shared: the transport assigns `seq` before broadcasting it.
  using NewUpdatePtr = std::shared_ptr<Update>;
  // Called for every update, in one global order, on the transport's calling thread.
  // A listener must be cheap and non-blocking (a shard listener posts to its event loop).
  using Listener = std::function<void(const UpdatePtr&)>;
  // Called once the update is durable (or rejected: 409 for an id already stored, 503 when the
  // store refuses); after the update was stored, never before. May run on any thread.
  using Done = std::function<void(Result<void>)>;

  virtual ~Transport() = default;

  // Registers a listener. Must be called before the first publish().
  virtual void add_listener(Listener listener) = 0;

  // Assigns `update->seq`, stores and broadcasts `update`, and calls `done`. Thread-safe.
  // `update->id` and `update->frame` are final. Listeners see updates in seq order.
  virtual void publish(NewUpdatePtr update, Done done) = 0;

  // The stored events, or nullptr when this transport keeps no history.
  [[nodiscard]] virtual History* history() { return nullptr; }

  // For a transport that broadcasts every update it stores, in seq order: the newest seq stored
  // before its first broadcast (the updates up to it never reach the listeners). A history
  // replay may then wait for a shard to have dispatched what the store trimmed under it (see
  // http/dispatch_progress.hpp). nullopt: no such promise (nothing is waited for). Read when
  // the listeners are added, before the first publish().
  [[nodiscard]] virtual std::optional<std::uint64_t> broadcast_from() const { return std::nullopt; }

  // True when publish() can currently succeed (readiness probe).
  [[nodiscard]] virtual bool writable() const = 0;

  // Stops accepting publishes; pending ones complete or fail. Idempotent.
  virtual void close() = 0;

  // Called (on the transport's thread) when the transport takes publishes again after it did not
  // (writable() was false, or publishes failed). Thread-safe.
  void set_writable_handler(std::function<void()> handler) {
    std::lock_guard lock(writable_mutex_);
    writable_handler_ = std::move(handler);
  }

 protected:
  // For the implementations: the transport takes publishes again.
  void notify_writable() const {
    std::function<void()> handler;
    {
      std::lock_guard lock(writable_mutex_);
      handler = writable_handler_;
    }
    if (handler) handler();
  }

 private:
  mutable std::mutex writable_mutex_;
  std::function<void()> writable_handler_;
};

}  // namespace mercure
