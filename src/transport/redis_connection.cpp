#include "transport/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <vector>

namespace mercure {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

struct Argv {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  explicit Argv(std::span<const std::string_view> args) {
    pointers.reserve(args.size());
    lengths.reserve(args.size());
    for (auto a : args) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
};

}  // namespace

void RedisReplyDeleter::operator()(redisReply* reply) const noexcept {
  if (reply != nullptr) freeReplyObject(reply);
}

std::string_view reply_text(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS || reply.type == REDIS_REPLY_ERROR) {
    return {reply.str, reply.len};
  }
  return {};
}

bool reply_is_error(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR;
}

bool reply_is_nil(const redisReply& reply) {
  return reply.type == REDIS_REPLY_NIL;
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisOptions& options,
                                                               std::chrono::milliseconds timeout) {
  const std::string where = "redis " + options.describe();
  redisContext* context = redisConnectWithTimeout(options.host.c_str(), options.port, to_timeval(timeout));
  if (context == nullptr) return Error{Errc::unavailable, where + ": out of memory"};
  if (context->err != 0) {
    Error e{Errc::unavailable, where + ": cannot connect: " + context->errstr};
    redisFree(context);
    return e;
  }
  std::unique_ptr<RedisConnection> connection(new RedisConnection(context, where));
  redisSetTimeout(context, to_timeval(timeout));
  redisEnableKeepAlive(context);

  const auto expect_ok = [&](std::span<const std::string_view> args, std::string_view what) -> Result<void> {
    auto reply = connection->command(args);
    if (!reply) return reply.error();
    if (reply_is_error(**reply)) {
      return Error{Errc::unavailable,
                   where + ": " + std::string(what) + " refused: " + std::string(reply_text(**reply))};
    }
    return {};
  };
  if (!options.password.empty() || !options.username.empty()) {  // an ACL user may have no password
    std::vector<std::string_view> auth{"AUTH"};
    if (!options.username.empty()) auth.emplace_back(options.username);
    auth.emplace_back(options.password);
    if (auto ok = expect_ok(auth, "AUTH"); !ok) return ok.error();
  }
  if (options.db != 0) {
    const std::string db = std::to_string(options.db);
    const std::string_view select[] = {"SELECT", db};
    if (auto ok = expect_ok(select, "SELECT " + db); !ok) return ok.error();
  }
  return connection;
}

RedisConnection::~RedisConnection() {
  redisFree(context_);
}

Error RedisConnection::failure(std::string_view doing) {
  broken_ = true;
  std::string cause = context_->err != 0 ? std::string(context_->errstr) : std::string("connection lost");
  if (cause.empty()) cause = "connection lost";
  return Error{Errc::unavailable, where_ + ": " + std::string(doing) + ": " + cause};
}

Result<RedisReplyPtr> RedisConnection::command(std::span<const std::string_view> args) {
  append(args);
  return read_reply();
}

void RedisConnection::append(std::span<const std::string_view> args) {
  if (broken_) return;
  Argv argv(args);
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.pointers.size()), argv.pointers.data(),
                             argv.lengths.data()) != REDIS_OK) {
    broken_ = true;
  }
}

Result<RedisReplyPtr> RedisConnection::read_reply() {
  if (broken_) return Error{Errc::unavailable, where_ + ": connection lost"};
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return failure("no reply");
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

void RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  redisSetTimeout(context_, to_timeval(timeout));
}

bool RedisConnection::idle_and_open() {
  if (broken_) return false;
  pollfd p{context_->fd, POLLIN | POLLRDHUP, 0};
  // An idle connection has nothing to read: readable means closed (or a protocol mess).
  if (::poll(&p, 1, 0) != 0) broken_ = true;
  return !broken_;
}

void RedisConnection::interrupt() noexcept {
  if (context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

}  // namespace mercure
