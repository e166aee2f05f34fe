#pragma once
// Where updates go once accepted: stored (when the transport keeps history) and broadcast to
// every listener (one per shard). Implementations: LocalTransport (no history, here),
// LmdbTransport and RedisTransport (src/transport/).

#include "core/error.hpp"
#include "core/update.hpp"

#include <functional>
#include <memory>

namespace mercure {

class Transport {
 public:
  using UpdatePtr = std::shared_ptr<const Update>;
  // Called for every update, in one global order, on the transport's calling thread.
  // A listener must be cheap and non-blocking (a shard listener posts to its event loop).
  using Listener = std::function<void(const UpdatePtr&)>;
  // Called once the update is durable (or rejected); before or after broadcast depending on
  // the implementation, never before it is stored.
  using Done = std::function<void(Result<void>)>;

  virtual ~Transport() = default;

  // Registers a listener. Must be called before the first publish().
  virtual void add_listener(Listener listener) = 0;

  // Stores and broadcasts `update`, then calls `done`. Thread-safe. `update->id` is final.
  virtual void publish(UpdatePtr update, Done done) = 0;

  // True when publish() can currently succeed (readiness probe).
  [[nodiscard]] virtual bool writable() const = 0;

  // Stops accepting publishes; pending ones complete or fail. Idempotent.
  virtual void close() = 0;
};

}  // namespace mercure
