#pragma once
// In-memory transport without history: broadcast only.
// Thread-safety: publish() may be called from any thread; a mutex serializes broadcast so
// every listener sees updates in the same order (and counts them: updates_committed() is called
// under that mutex).

#include "core/metrics.hpp"
#include "core/transport.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace mercure {

class LocalTransport final : public Transport {
 public:
  // `metrics`: optional (nullptr = not counted); must outlive the transport.
  explicit LocalTransport(Metrics* metrics = nullptr) : metrics_(metrics) {}

  void add_listener(Listener listener) override;
  void publish(NewUpdatePtr update, Done done) override;
  [[nodiscard]] bool writable() const override { return !closed_.load(); }
  void close() override { closed_.store(true); }

 private:
  Metrics* metrics_;
  std::mutex mutex_;
  std::vector<Listener> listeners_;
  std::uint64_t last_seq_ = 0;  // guarded by mutex_
  std::atomic<bool> closed_{false};
};

}  // namespace mercure
