#pragma once
// Keeps a flood of similar log lines (one per rejected request, say a misconfigured publisher
// retrying a bad token thousands of times a second) from drowning the log and the disk: the
// first `burst` lines of each period are logged, the rest are only counted, and the first line
// logged after them says how many were left out. The metrics still count every rejection.
// Like the sampling of the reference hub's logger (zap: the first 100 a second).
//
// Not thread-safe: one per thread.

#include <chrono>
#include <cstdint>

namespace mercure {

class LogSampler {
 public:
  using Clock = std::chrono::steady_clock;

  LogSampler(std::uint32_t burst, Clock::duration period) : burst_(burst), period_(period) {}

  // True when the line is to be logged; `left_out` is then the number of lines left out since
  // the last one logged (0 most of the time).
  bool admit(Clock::time_point now, std::uint64_t& left_out) {
    if (now - window_start_ >= period_) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= burst_) {
      ++left_out_;
      return false;
    }
    ++in_window_;
    left_out = left_out_;
    left_out_ = 0;
    return true;
  }

 private:
  std::uint32_t burst_;
  Clock::duration period_;
  Clock::time_point window_start_{};
  std::uint32_t in_window_ = 0;
  std::uint64_t left_out_ = 0;
};

}  // namespace mercure
