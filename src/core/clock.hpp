#pragma once
// Time is injected: production uses SystemClock, tests use ManualClock.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mercure {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in whole seconds since the Unix epoch (JWT exp/nbf/iat). Thread-safe.
  [[nodiscard]] virtual std::int64_t unix_seconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t unix_seconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t now = 1'700'000'000) : now_(now) {}
  [[nodiscard]] std::int64_t unix_seconds() const override { return now_.load(); }
  void set(std::int64_t now) { now_.store(now); }
  void advance(std::int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace mercure
