#pragma once
// The Redis transport's History: reads the stream and its id index.
//   find(id)   HGET <stream>:ids id -> the entry id -> seq (one round trip)
//   scan(...)  XRANGE <stream> (<entry after> + COUNT n, n sized to a replay step's 64 KiB of
//              frames of the size seen lately (scan_chunk): usually one round trip per step;
//              pipelined with the newest entry deleted (XINFO STREAM, in a script), which tells
//              where events after the cursor were trimmed
//   last_id()  XREVRANGE <stream> + - COUNT 1
// Calls block their thread for a round trip to Redis (reads_block(): the subscribe path makes
// them on the server's history reader threads, not on an event loop). Errors are
// Errc::unavailable naming the server.
//
// While Redis cannot be reached, calls fail at once for a second after each failed connect
// instead of each waiting for its own connect timeout on an event loop.
//
// Thread-safety: every member may be called from any thread; each call borrows a connection
// from a small pool (opened on demand, at most `kMaxIdle` kept).

#include "core/history.hpp"
#include "transport/redis_connection.hpp"
#include "transport/redis_options.hpp"
#include "transport/redis_script.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mercure {

// The entries one XRANGE of a scan asks for, from the mean size of the SSE frames read lately:
// a replay step stops at the frame that crosses 64 KiB (src/http), so about that much and an
// eighth more (sizes vary) is one step's read, and more would mostly be read again by the next
// step. At least 1, at most `remaining`.
inline constexpr std::size_t kScanReadBytes = 72 * 1024;
[[nodiscard]] constexpr std::size_t scan_chunk(std::size_t remaining, std::size_t frame_bytes) noexcept {
  const std::size_t fit = kScanReadBytes / (frame_bytes == 0 ? 1 : frame_bytes) + 1;
  return fit < remaining ? fit : remaining;
}

class RedisHistory final : public History {
 public:
  explicit RedisHistory(RedisOptions options)
      : options_(std::move(options)), deleted_sha_(redis_script_sha(kRedisDeletedScript)) {}

  [[nodiscard]] Result<std::optional<std::uint64_t>> find(std::string_view id) override;
  [[nodiscard]] Result<ScanResult> scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) override;
  [[nodiscard]] Result<std::optional<std::string>> last_id() override;
  [[nodiscard]] bool reads_block() const override { return true; }

  // Events in the stream and ids in the index (tests, metrics).
  [[nodiscard]] Result<std::pair<std::uint64_t, std::uint64_t>> counts();

 private:
  static constexpr std::size_t kMaxIdle = 8;  // one per history reader thread (src/http/server.cpp)
  [[nodiscard]] Result<RedisReplyPtr> command(std::span<const std::string_view> args);
  // Sends `commands` in one round trip on one connection; their replies, in order.
  [[nodiscard]] Result<std::vector<RedisReplyPtr>> pipeline(
      std::span<const std::span<const std::string_view>> commands);
  // One read of a scan: at most `count` entries from `start` (XRANGE's syntax), then the seq of
  // the newest entry deleted from the stream (0: none, or a Redis older than 7).
  struct Chunk {
    RedisReplyPtr reply;  // XRANGE's
    std::uint64_t newest_deleted = 0;
  };
  [[nodiscard]] Result<Chunk> read_chunk(const std::string& start, std::size_t count);

  const RedisOptions options_;
  const std::string deleted_sha_;  // kRedisDeletedScript's, for EVALSHA
  std::mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  std::chrono::steady_clock::time_point retry_after_{};  // guarded by mutex_
  std::string last_failure_;                             // guarded by mutex_
  // The mean size of the frames the last scan read (first guess: 128 entries per read).
  std::atomic<std::size_t> frame_bytes_{kScanReadBytes / 127};
};

}  // namespace mercure
