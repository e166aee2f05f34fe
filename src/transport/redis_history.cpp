#include "transport/redis_history.hpp"

#include "transport/event_record.hpp"
#include "transport/redis_entry.hpp"
#include "transport/redis_script.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace mercure {

namespace {

// A read Redis does not answer within this ends the resuming stream (its client reconnects).
// Reads run on the history reader threads, not the event loops: long enough for a Redis busy a
// moment (a fork for a snapshot, a long script), short enough for a stop, which waits for the
// reads under way.
constexpr std::chrono::milliseconds kTimeout{3000};
constexpr std::chrono::seconds kRetryAfterFailure{1};

Error unexpected(std::string_view what, const redisReply& reply) {
  std::string text(reply_text(reply));
  return Error{Errc::unavailable,
               "redis " + std::string(what) + ": unexpected reply" + (text.empty() ? std::string() : ": " + text)};
}

}  // namespace

Result<RedisReplyPtr> RedisHistory::command(std::span<const std::string_view> args) {
  const std::span<const std::string_view> one[] = {args};
  auto replies = pipeline(one);
  if (!replies) return replies.error();
  return std::move(replies->front());
}

Result<std::vector<RedisReplyPtr>> RedisHistory::pipeline(std::span<const std::span<const std::string_view>> commands) {
  std::unique_ptr<RedisConnection> connection;
  {
    std::lock_guard lock(mutex_);
    // Checked first: a hung Redis keeps pooled connections open, and each would wait a timeout.
    if (std::chrono::steady_clock::now() < retry_after_) return Error{Errc::unavailable, last_failure_};
    while (!idle_.empty() && !connection) {
      connection = std::move(idle_.back());
      idle_.pop_back();
      if (!connection->idle_and_open()) connection.reset();  // closed by the server meanwhile
    }
  }
  if (!connection) {
    auto opened = RedisConnection::open(options_, kTimeout);
    if (!opened) {
      std::lock_guard lock(mutex_);
      retry_after_ = std::chrono::steady_clock::now() + kRetryAfterFailure;
      last_failure_ = opened.error().reason;
      return opened.error();
    }
    connection = std::move(*opened);
  }
  for (const auto& args : commands) connection->append(args);
  std::vector<RedisReplyPtr> replies;
  std::optional<Error> failed;
  for (std::size_t i = 0; i < commands.size() && !failed; ++i) {
    auto reply = connection->read_reply();
    if (reply) {
      replies.push_back(std::move(*reply));
    } else {
      failed = reply.error();
    }
  }
  std::lock_guard lock(mutex_);
  if (!connection->broken()) {
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
  } else if (failed) {
    // A Redis that times out (hung, overloaded) is treated as unreachable for a while too.
    retry_after_ = std::chrono::steady_clock::now() + kRetryAfterFailure;
    last_failure_ = failed->reason;
  }
  if (failed) return *failed;
  return replies;
}

Result<std::optional<std::uint64_t>> RedisHistory::find(std::string_view id) {
  const std::string index = options_.index_key();
  const std::string_view args[] = {"HGET", index, id};
  auto reply = command(args);
  if (!reply) return reply.error();
  if (reply_is_nil(**reply)) return std::optional<std::uint64_t>{};
  if ((*reply)->type != REDIS_REPLY_STRING) return unexpected("HGET", **reply);
  auto seq = seq_from_entry_id(reply_text(**reply));
  if (!seq) return seq.error();
  return std::optional<std::uint64_t>{*seq};
}

Result<History::ScanResult> RedisHistory::scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) {
  ScanResult result{after, false};
  TopicViews topics;
  std::size_t remaining = max_events;
  std::size_t frame_bytes = frame_bytes_.load(std::memory_order_relaxed);
  while (remaining > 0) {
    // Reads sized in bytes: a replay step usually stops at its byte budget long before
    // max_events. A reply with fewer entries than asked for ends the stream; one with as many
    // leaves it unknown (the next read finds out), rather than asking for one more entry each
    // time, which costs a whole entry when they are large.
    const std::size_t chunk = scan_chunk(remaining, frame_bytes);
    const std::uint64_t from = result.last_seq;
    auto read = read_chunk(from == 0 ? std::string("-") : "(" + entry_id_from_seq(from), chunk);
    if (!read) return read.error();
    const redisReply& entries = *read->reply;
    // The publish script trims the oldest entries first: every entry up to the newest one
    // deleted is gone. Deleted after `from`: entries after the cursor may have been trimmed
    // before this read (or, rarely, one was deleted out of order: then up to the first left).
    if (read->newest_deleted > from) {
      if (from != after) break;  // a later read of this scan: the next scan starts at the gap
      result.trimmed_below = read->newest_deleted + 1;
      if (entries.elements > 0) {
        if (auto first = seq_from_entry_id(raw_entry_id(*entries.element[0]))) {
          result.trimmed_below = std::min(result.trimmed_below, *first);
        }
      }
    }
    std::size_t visited = 0;
    std::size_t sized = 0;
    std::size_t bytes = 0;
    bool stopped = false;
    while (visited < entries.elements && visited < chunk && !stopped) {
      const redisReply& raw = *entries.element[visited];
      ++visited;
      auto entry = parse_entry(raw);
      auto record = entry ? decode_event_record(entry->record, topics) : Result<EventRecordView>(entry.error());
      if (!record) {
        // Not a hub's entry: skipped (as the reader skips it) once its id tells where it is.
        const auto id = raw_entry_id(raw);
        auto seq = seq_from_entry_id(id);
        if (!seq) return Error{Errc::internal, "stream entry \"" + printable_excerpt(id) + "\": " + seq.error().reason};
        result.last_seq = *seq;
        continue;
      }
      ++sized;
      bytes += record->frame.size();
      const HistoryEvent event{entry->seq, record->id, topics, record->is_private, record->frame};
      result.last_seq = entry->seq;
      stopped = !visit(event);
    }
    if (sized > 0) {
      frame_bytes = std::max<std::size_t>(1, bytes / sized);
      frame_bytes_.store(frame_bytes, std::memory_order_relaxed);
    }
    result.at_end = visited == entries.elements && entries.elements < chunk;
    if (stopped || result.at_end) break;
    remaining -= visited;
  }
  return result;
}

// XRANGE, then (pipelined: one round trip) the newest entry deleted. Read after the XRANGE, it
// covers every deletion before it (and maybe later ones, of entries the XRANGE returned).
Result<RedisHistory::Chunk> RedisHistory::read_chunk(const std::string& start, std::size_t count) {
  const std::string n = std::to_string(count);
  const std::string_view xrange[] = {"XRANGE", options_.stream, start, "+", "COUNT", n};
  const std::string_view by_sha[] = {"EVALSHA", deleted_sha_, "1", options_.stream};
  const std::span<const std::string_view> both[] = {xrange, by_sha};
  auto replies = pipeline(both);
  if (!replies) return replies.error();
  Chunk chunk;
  chunk.reply = std::move((*replies)[0]);
  RedisReplyPtr deleted = std::move((*replies)[1]);
  if (reply_is_error(*deleted) && reply_text(*deleted).starts_with("NOSCRIPT")) {
    const std::string_view by_text[] = {"EVAL", kRedisDeletedScript, "1", options_.stream};
    auto again = command(by_text);
    if (!again) return again.error();
    deleted = std::move(*again);
  }
  if (chunk.reply->type != REDIS_REPLY_ARRAY) return unexpected("XRANGE", *chunk.reply);
  if (deleted->type != REDIS_REPLY_STRING) return unexpected("XINFO STREAM", *deleted);
  if (const std::string_view id = reply_text(*deleted); !id.empty()) {  // Redis 7 and later
    auto seq = seq_from_entry_id(id);
    if (!seq) return Error{Errc::unavailable, "redis XINFO STREAM: max-deleted-entry-id: " + seq.error().reason};
    chunk.newest_deleted = *seq;
  }
  return chunk;
}

Result<std::optional<std::string>> RedisHistory::last_id() {
  // The newest entry written by a hub (entries of other programs are skipped, as everywhere).
  const std::string_view args[] = {"XREVRANGE", options_.stream, "+", "-", "COUNT", "16"};
  auto reply = command(args);
  if (!reply) return reply.error();
  const redisReply& entries = **reply;
  if (entries.type != REDIS_REPLY_ARRAY) return unexpected("XREVRANGE", entries);
  for (std::size_t i = 0; i < entries.elements; ++i) {
    if (auto entry = parse_entry(*entries.element[i])) return std::optional<std::string>{std::string(entry->id)};
  }
  return std::optional<std::string>{};
}

Result<std::pair<std::uint64_t, std::uint64_t>> RedisHistory::counts() {
  const std::string index = options_.index_key();
  const std::string_view xlen[] = {"XLEN", options_.stream};
  const std::string_view hlen[] = {"HLEN", index};
  auto events = command(xlen);
  if (!events) return events.error();
  auto ids = command(hlen);
  if (!ids) return ids.error();
  if ((*events)->type != REDIS_REPLY_INTEGER) return unexpected("XLEN", **events);
  if ((*ids)->type != REDIS_REPLY_INTEGER) return unexpected("HLEN", **ids);
  return std::pair{static_cast<std::uint64_t>((*events)->integer), static_cast<std::uint64_t>((*ids)->integer)};
}

}  // namespace mercure
