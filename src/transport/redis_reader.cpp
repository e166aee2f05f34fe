#include "transport/redis_transport.hpp"

// RedisTransport's reader thread: follows the stream and fans out what it reads (see
// redis_transport.hpp). The writer side is in redis_transport.cpp.

#include "transport/redis_entry.hpp"
#include "transport/url_query.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mercure {

namespace {

constexpr std::string_view kBlockMs = "2000";  // XREAD BLOCK: how long the reader waits for news
constexpr std::chrono::milliseconds kReadTimeout{2000 + 5000};
constexpr std::string_view kReadCount = "1024";

}  // namespace

void RedisTransport::read_loop() {
  auto backoff = std::chrono::milliseconds(100);
  bool lost = false;
  for (;;) {
    std::unique_ptr<RedisConnection> connection;
    {
      auto opened = RedisConnection::open(options_, kTimeout);
      if (!opened) {
        if (!lost) spdlog::error("redis transport: reader: {}; retrying", opened.error().reason);
        lost = true;
        if (pause(backoff)) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      connection = std::move(*opened);
      connection->set_timeout(kReadTimeout);
    }
    {
      std::lock_guard lock(reader_mutex_);
      if (closed_.load()) return;
      reader_connection_ = std::move(connection);
    }
    if (lost) spdlog::info("redis transport: reader reconnected, reading on after entry {}", last_entry_);
    lost = false;
    backoff = std::chrono::milliseconds(100);

    while (!closed_.load()) {
      if (went_back_.exchange(false)) rewind();
      // Redis lost this hub (the writer found it unlisted): its list of subscriptions may have
      // gone too. Here, between two reads: what Redis lists now, then the entries after the last
      // one read (applied again when the list already holds them: idempotent).
      if (resync_.exchange(false)) resync();
      const std::string_view args[] = {"XREAD",  "COUNT",   kReadCount,      "BLOCK",
                                       kBlockMs, "STREAMS", options_.stream, last_entry_};
      auto reply = reader_connection_->command(args);
      if (!reply) {
        if (closed_.load()) return;
        spdlog::error("redis transport: reader: {}; reconnecting", reply.error().reason);
        lost = true;
        break;
      }
      const redisReply& r = **reply;
      if (reply_is_nil(r)) {  // nothing new within BLOCK
        if (stream_went_back(*reader_connection_)) rewind();
        continue;
      }
      if (r.type != REDIS_REPLY_ARRAY) {
        spdlog::error("redis transport: reader: XREAD: {}", reply_text(r));
        if (pause(kProbeInterval)) return;
        continue;
      }
      std::lock_guard listeners(listeners_mutex_);  // the reader runs before add_listener() ends
      for (std::size_t s = 0; s < r.elements; ++s) {
        const redisReply& stream = *r.element[s];
        if (stream.type != REDIS_REPLY_ARRAY || stream.elements != 2) continue;
        const redisReply& entries = *stream.element[1];
        if (entries.type != REDIS_REPLY_ARRAY) continue;
        for (std::size_t k = 0; k < entries.elements; ++k) deliver_entry(*entries.element[k]);
      }
    }
    std::lock_guard lock(reader_mutex_);
    reader_connection_.reset();
    if (closed_.load()) return;
  }
}

bool RedisTransport::stream_went_back(RedisConnection& connection) {
  if (last_entry_ == "0-0") return false;
  const std::string_view info[] = {"XINFO", "STREAM", options_.stream};
  auto reply = connection.command(info);
  if (!reply) return false;  // the next XREAD finds the broken connection
  const redisReply& r = **reply;
  // "no such key": deleted (FLUSHALL, DEL). Any other error (NOAUTH after a restart...) is not
  // a reason to read the whole stream again.
  if (reply_is_error(r)) return reply_text(r).find("no such key") != std::string_view::npos;
  if (r.type != REDIS_REPLY_ARRAY) return false;
  for (std::size_t k = 0; k + 1 < r.elements; k += 2) {
    if (reply_text(*r.element[k]) != "last-generated-id") continue;
    const auto last = seq_from_entry_id(reply_text(*r.element[k + 1]));
    const auto ours = seq_from_entry_id(last_entry_);
    return last && ours && *last < *ours;
  }
  return false;
}

void RedisTransport::rewind() {
  spdlog::warn(
      "redis transport: the ids of stream \"{}\" went back below entry {} (the stream was deleted or recreated, or "
      "Redis failed over to a replica that missed entries): reading it again from its first entry; subscribers may "
      "receive updates again",
      options_.stream, last_entry_);
  last_entry_ = "0-0";
  read_seq_.store(0, std::memory_order_relaxed);
  // The cluster's list of subscriptions went with it (FLUSHALL, a restart without persistence)
  // or not (the stream alone deleted): the registry starts again from what Redis lists, then
  // follows the stream from its first entry.
  resync();
}

void RedisTransport::resync() {
  std::function<void(std::vector<Subscription>)> handler;
  {
    std::lock_guard lock(subscriptions_mutex_);
    handler = rewound_;
  }
  if (!handler || !reader_connection_) return;
  const std::string_view args[] = {"HVALS", keys_.subscriptions};
  auto reply = reader_connection_->command(args);
  if (!reply || (*reply)->type != REDIS_REPLY_ARRAY) return;
  call_quietly(kWho, "rewound handler", handler, active_subscriptions(**reply));
}

void RedisTransport::deliver_entry(const redisReply& raw) {
  auto entry = parse_entry(raw);
  if (!entry) {
    // Not a hub's entry (another program wrote to the stream): skipped, read on after it.
    if (const auto id = raw_entry_id(raw); !id.empty()) {
      last_entry_ = std::string(id);
      if (auto seq = seq_from_entry_id(id)) read_seq_.store(*seq, std::memory_order_relaxed);
    }
    spdlog::error("redis transport: skipped a {}", entry.error().reason);
    return;
  }
  last_entry_ = std::string(entry->entry_id);

  std::optional<Sent> own;
  const std::string_view origin = entry->origin;
  if (origin.size() > node_.size() && origin.starts_with(node_) && origin[node_.size()] == ':') {
    if (auto counter = parse_unsigned<std::uint64_t>(origin.substr(node_.size() + 1))) own = take_sent(*counter);
  }
  NewUpdatePtr update;
  if (own) {
    update = std::move(own->update);
    update->seq = entry->seq;
  } else {
    auto decoded = update_from_entry(*entry);
    if (!decoded) {
      spdlog::error("redis transport: skipped a {}", decoded.error().reason);
      return;
    }
    update = std::move(*decoded);
  }
  // After take_sent(): a publish of this hub still in sent_ with a seq at or below this was
  // skipped by the reader (see send_batch()).
  read_seq_.store(entry->seq, std::memory_order_relaxed);
  const UpdatePtr shared = std::move(update);
  for (const auto& listener : listeners_) call_quietly(kWho, "listener", listener, shared);
  if (own) call_quietly(kWho, "publish acknowledgement", own->done, Result<void>{});
}

}  // namespace mercure
