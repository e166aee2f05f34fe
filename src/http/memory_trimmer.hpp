#pragma once
// Gives memory back to the system after a burst of connections. Thousands of subscribers
// arriving at once each hold a request's memory (coroutine frames, parser, buffers) for a
// moment before becoming an idle stream of about a kilobyte, and a crowd that leaves frees all
// of its streams at once; freed, that memory stays in malloc's free lists and in the
// process's RSS. After at least kBurst such frees, once they have been quiet for a moment,
// malloc_trim returns the free pages. At most one trim per shard per kQuiet.
//
// Shard thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>

namespace mercure {

class MemoryTrimmer final {
 public:
  static constexpr std::size_t kBurst = 512;
  static constexpr std::chrono::milliseconds kQuiet{500};

  explicit MemoryTrimmer(boost::asio::io_context& io) : timer_(io) {}

  // A connection's request phase ended (it closed, or it became an event stream), or an
  // event stream ended.
  void connection_memory_freed();
  // Stops waiting (shutdown), so the event loop can return.
  void stop();

 private:
  void arm();
  void on_timer();

  boost::asio::steady_timer timer_;
  std::size_t ended_ = 0;  // frees since the last trim
  std::size_t ended_at_arm_ = 0;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace mercure
