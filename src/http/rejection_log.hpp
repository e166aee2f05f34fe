#pragma once
// The info line of a refused request or connection, sampled per worker thread (LogSampler:
// the first 100 a second are logged, the line after a flood says how many were left out).

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/log_sampler.hpp"

namespace mercure {

inline constexpr std::uint32_t kRejectionLinesPerSecond = 100;

inline LogSampler& rejection_sampler() {
  thread_local LogSampler sampler(kRejectionLinesPerSecond, std::chrono::seconds(1));
  return sampler;
}

template <class... Args>
void log_rejection(spdlog::format_string_t<Args...> format, Args&&... args) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::uint64_t left_out = 0;
  if (!rejection_sampler().admit(LogSampler::Clock::now(), left_out)) return;
  if (left_out == 0) {
    spdlog::info(format, std::forward<Args>(args)...);
  } else {
    spdlog::info("{} [and {} more refusals not logged: at most {} lines a second]",
                 fmt::format(format, std::forward<Args>(args)...), left_out, kRejectionLinesPerSecond);
  }
}

}  // namespace mercure
