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
  auto reply = connection->command(args);
  std::lock_guard lock(mutex_);
  if (!connection->broken()) {
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
  } else if (!reply) {
    // A Redis that times out (hung, overloaded) is treated as unreachable for a while too.
    retry_after_ = std::chrono::steady_clock::now() + kRetryAfterFailure;
    last_failure_ = reply.error().reason;
  }
  return reply;
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
    const std::string start = result.last_seq == 0 ? std::string("-") : "(" + entry_id_from_seq(result.last_seq);
    const std::string count = std::to_string(chunk);
    const std::string_view args[] = {"XRANGE", options_.stream, start, "+", "COUNT", count};
    auto reply = command(args);
    if (!reply) return reply.error();
    const redisReply& entries = **reply;
    if (entries.type != REDIS_REPLY_ARRAY) return unexpected("XRANGE", entries);
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
  auto trimmed = newest_trimmed();
  if (!trimmed) return trimmed.error();
  if (*trimmed > after) result.trimmed_below = *trimmed + 1;
  return result;
}

// The publish script trims the oldest entries first, so every entry up to the newest one deleted
// is gone: events after `after` up to it may have been trimmed before the scan read them.
Result<std::uint64_t> RedisHistory::newest_trimmed() {
  const std::string_view args[] = {"EVAL", kRedisTrimmedScript, "1", options_.stream};
  auto reply = command(args);
  if (!reply) return reply.error();
  if ((*reply)->type != REDIS_REPLY_STRING) return unexpected("XINFO STREAM", **reply);
  const std::string_view id = reply_text(**reply);
  if (id.empty()) return 0;  // an older Redis: gaps are not known (nothing is held)
  return seq_from_entry_id(id);
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
