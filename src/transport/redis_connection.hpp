#pragma once
// One blocking connection to Redis: connect (TCP, or TLS for rediss://, see redis_socket.hpp)
// with AUTH and SELECT, single commands, pipelined commands (append several, then read their
// replies in order). Commands are encoded here (RESP arrays of bulk strings); replies are parsed
// by hiredis' reader, whose reply objects callers read field by field. hiredis types stay out of
// this header except the reply.
//
// Errors: a connection that fails (refused, reset, timed out, protocol error) gives
// Errc::unavailable naming the server and the cause, and is broken() from then on: the owner
// drops it and opens another. An error *reply* (e.g. OOM, WRONGTYPE) is a reply, not an error.
//
// Thread-safety: one thread uses a connection at a time, except interrupt(), which another
// thread may call to wake a blocked read (at close).

#include "core/error.hpp"
#include "transport/redis_options.hpp"
#include "transport/redis_socket.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct redisReader;
struct redisReply;

namespace mercure {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const noexcept;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// The SHA1 of a Lua script in lowercase hex: its name for EVALSHA.
[[nodiscard]] std::string redis_script_sha(std::string_view script);

class RedisConnection final {
 public:
  // Connects (TCP, keep-alive; TLS for rediss://), authenticates and selects the database;
  // `timeout` bounds each step of the connect and, afterwards, every wait to read or write.
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
  RedisConnection(std::unique_ptr<RedisSocket> socket, redisReader* reader, std::string where,
                  std::chrono::milliseconds timeout)
      : socket_(std::move(socket)), reader_(reader), where_(std::move(where)), timeout_(timeout) {}
  Error failure(std::string_view doing, const Error& cause);

  std::unique_ptr<RedisSocket> socket_;
  redisReader* reader_;
  std::string where_;  // "redis 127.0.0.1:6379/0", for messages
  std::chrono::milliseconds timeout_;
  std::string output_;  // commands appended, not yet sent
  bool broken_ = false;
};

// The reply's text (string, status or error reply); empty for other types.
[[nodiscard]] std::string_view reply_text(const redisReply& reply);
[[nodiscard]] bool reply_is_error(const redisReply& reply);
[[nodiscard]] bool reply_is_nil(const redisReply& reply);

}  // namespace mercure
