#pragma once
// One blocking connection to Redis (hiredis' synchronous context): connect with AUTH and SELECT,
// single commands, pipelined commands (append several, then read their replies in order).
// hiredis types stay out of this header except the reply, which callers read field by field.
//
// Errors: a connection that fails (refused, reset, timed out, protocol error) gives
// Errc::unavailable naming the server and the cause, and is broken() from then on: the owner
// drops it and opens another. An error *reply* (e.g. OOM, WRONGTYPE) is a reply, not an error.
//
// Thread-safety: one thread uses a connection at a time, except interrupt(), which another
// thread may call to wake a blocked read (at close).

#include "core/error.hpp"
#include "transport/redis_options.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct redisContext;
struct redisReply;

namespace mercure {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const noexcept;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection final {
 public:
  // Connects (TCP, keep-alive), authenticates and selects the database; `timeout` bounds the
  // connect and, afterwards, every read and write.
  [[nodiscard]] static Result<std::unique_ptr<RedisConnection>> open(const RedisOptions& options,
                                                                     std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and reads its reply.
  [[nodiscard]] Result<RedisReplyPtr> command(std::span<const std::string_view> args);
  // Queues a command in the output buffer (sent by the next read_reply()).
  void append(std::span<const std::string_view> args);
  // Sends what is queued, then reads the next reply.
  [[nodiscard]] Result<RedisReplyPtr> read_reply();
  // Timeout of later reads and writes (e.g. longer than an XREAD's BLOCK).
  void set_timeout(std::chrono::milliseconds timeout);
  // Shuts the socket down so that a read blocked in another thread returns at once.
  void interrupt() noexcept;

  [[nodiscard]] bool broken() const { return broken_; }
  // False when the server closed the connection while it was idle (e.g. Redis restarted): a
  // non-blocking poll, so a pooled or idle connection is replaced before a command is lost on it.
  [[nodiscard]] bool idle_and_open();

 private:
  RedisConnection(redisContext* context, std::string where) : context_(context), where_(std::move(where)) {}
  Error failure(std::string_view doing);

  redisContext* context_;
  std::string where_;  // "redis 127.0.0.1:6379/0", for messages
  bool broken_ = false;
};

// The reply's text (string, status or error reply); empty for other types.
[[nodiscard]] std::string_view reply_text(const redisReply& reply);
[[nodiscard]] bool reply_is_error(const redisReply& reply);
[[nodiscard]] bool reply_is_nil(const redisReply& reply);

}  // namespace mercure
