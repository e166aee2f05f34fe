#include "transport/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <vector>

namespace mercure {

std::string redis_script_sha(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(script.data(), script.size(), digest, &size, EVP_sha1(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

namespace {

// Bytes read from the socket at a time.
constexpr std::size_t kReadChunk = 16 * 1024;

// Appends `args` to `out` as a RESP array of bulk strings.
void encode_command(std::string& out, std::span<const std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (std::string_view a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

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
  auto socket = RedisSocket::connect(options, timeout);
  if (!socket) return Error{Errc::unavailable, where + ": cannot connect: " + socket.error().reason};
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return Error{Errc::unavailable, where + ": out of memory"};
  std::unique_ptr<RedisConnection> connection(new RedisConnection(std::move(*socket), reader, where, timeout));

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
  redisReaderFree(reader_);
}

Error RedisConnection::failure(std::string_view doing, const Error& cause) {
  broken_ = true;
  return Error{Errc::unavailable, where_ + ": " + std::string(doing) + ": " + cause.reason};
}

Result<RedisReplyPtr> RedisConnection::command(std::span<const std::string_view> args) {
  append(args);
  return read_reply();
}

void RedisConnection::append(std::span<const std::string_view> args) {
  if (!broken_) encode_command(output_, args);
}

Result<RedisReplyPtr> RedisConnection::read_reply() {
  if (broken_) return Error{Errc::unavailable, where_ + ": connection lost"};
  if (!output_.empty()) {
    auto sent = socket_->write_all(output_, timeout_);
    output_.clear();
    if (!sent) return failure("no reply", sent.error());
  }
  char buffer[kReadChunk];
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      return failure("no reply", Error{Errc::unavailable, std::string("protocol error: ") + reader_->errstr});
    }
    if (raw != nullptr) return RedisReplyPtr(static_cast<redisReply*>(raw));
    auto got = socket_->read_some(buffer, sizeof buffer, timeout_);
    if (!got) return failure("no reply", got.error());
    if (redisReaderFeed(reader_, buffer, *got) != REDIS_OK) {
      return failure("no reply", Error{Errc::unavailable, "out of memory"});
    }
  }
}

void RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
}

bool RedisConnection::idle_and_open() {
  if (broken_) return false;
  // An idle connection has nothing to read: readable means closed (or a protocol mess).
  if (socket_->has_input_or_closed()) broken_ = true;
  return !broken_;
}

void RedisConnection::interrupt() noexcept {
  socket_->interrupt();
}

}  // namespace mercure
