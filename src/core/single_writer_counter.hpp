#pragma once
// Counters and gauges with ONE writer thread and any number of readers.
//
// The writer does a relaxed load and a relaxed store (no read-modify-write, no lock prefix, no
// cache line bouncing between writers: there is only one); readers do a relaxed load and see
// some recent value. Thread-safety: add()/set() from the owning thread only (or from threads
// that hand over to each other with a happens-before edge, e.g. under one mutex); value() from
// any thread.

#include <atomic>
#include <cstdint>

namespace mercure {

class SingleWriterCounter final {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class SingleWriterGauge final {
 public:
  void add(std::int64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void increment() noexcept { add(1); }
  void decrement() noexcept { add(-1); }
  [[nodiscard]] std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace mercure
