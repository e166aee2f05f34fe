#include "http/memory_trimmer.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>

namespace mercure {

void MemoryTrimmer::connection_memory_freed() {
  ++ended_;
  if (armed_ || stopped_ || ended_ < kBurst) return;
  arm();
}

void MemoryTrimmer::arm() {
  armed_ = true;
  ended_at_arm_ = ended_;
  timer_.expires_after(kQuiet);
  timer_.async_wait([this](boost::system::error_code ec) {
    armed_ = false;
    if (!ec && !stopped_) on_timer();
  });
}

void MemoryTrimmer::on_timer() {
  if (ended_ - ended_at_arm_ >= kBurst) {
    arm();  // still arriving in numbers: look again once it calms down
    return;
  }
  const bool released = ::malloc_trim(0) != 0;
  spdlog::debug("memory trimmed after {} connections' request phases ({})", ended_,
                released ? "pages released" : "nothing to release");
  ended_ = 0;
}

void MemoryTrimmer::stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace mercure
