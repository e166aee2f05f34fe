#pragma once
// Binary encoding of one stored event (the value of the LMDB `events` table).
//
// Layout, version 1:
//   u8      version (1)
//   u8      flags: bit 0 = private; other bits must be 0
//   varint  id length, then the id bytes
//   varint  topic count, then for each topic: varint length, bytes
//   varint  frame length, then the frame (the exact SSE bytes sent to subscribers)
// and nothing after it: a truncated or extended record is malformed.
// Varints are unsigned LEB128 (at most 10 bytes, no overlong form above 64 bits).
// data/type/retry are not stored separately: the frame carries them.
//
// Decoding is zero-copy: the views point into `record` (the LMDB value, valid for the read
// transaction). A malformed record gives Errc::internal and is never read out of bounds.
// Pure functions; safe to call from any thread.

#include "core/error.hpp"
#include "core/update.hpp"

#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mercure {

inline constexpr std::uint8_t kEventRecordVersion = 1;

// Topics of a decoded record; most updates have a handful.
using TopicViews = boost::container::small_vector<std::string_view, 8>;

struct EventRecordView {
  std::string_view id;
  bool is_private = false;
  std::string_view frame;
};

// Size of the encoding of `update` (its id, topics, private flag and frame).
[[nodiscard]] std::size_t event_record_size(const Update& update);

// Writes the encoding of `update` into `out`, whose size must be event_record_size(update)
// (e.g. a buffer reserved in place with MDB_RESERVE).
void write_event_record(const Update& update, std::span<char> out);

// Convenience: the encoding as a string.
[[nodiscard]] std::string encode_event_record(const Update& update);

// Decodes `record`; `topics` is cleared, then filled with views into `record`.
[[nodiscard]] Result<EventRecordView> decode_event_record(std::string_view record, TopicViews& topics);

}  // namespace mercure
