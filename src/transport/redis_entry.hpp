#pragma once
// One event as a Redis stream entry, and back.
//
// An entry is written by the publish script (transport/redis_script.hpp) with the fields
//   i  the update id (also inside the record; the script reads it to keep the id index)
//   r  the event record (transport/event_record.hpp: id, topics, private flag, SSE frame)
//   o  the origin: "<node>:<n>", the publishing hub instance and its publish counter, so that
//      the hub that published an update fans out its own Update object (with what only it
//      knows, such as which subscriber a connect event announces) instead of a decoded copy
//   s  only on subscription events: the Subscription (encode_subscription), so that every hub
//      of the cluster lists the subscribers of the others in the subscriptions API
//
// seq: the entry id "<ms>-<n>" as (ms << 20) | n. Redis ids strictly increase, so seq does;
// 44 bits of milliseconds last until the year 2527, and n < 2^20 (a million entries in one
// millisecond) is far beyond what a Redis server appends. An id outside that is refused.
// Pure functions; safe to call from any thread.

#include "core/error.hpp"
#include "core/subscription.hpp"
#include "core/update.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace mercure {

struct RedisEntry {
  std::string_view entry_id;  // "<ms>-<n>"
  std::uint64_t seq = 0;
  std::string_view id;
  std::string_view record;
  std::string_view origin;
  std::string_view subscription;  // empty when the entry has none
};

[[nodiscard]] Result<std::uint64_t> seq_from_entry_id(std::string_view entry_id);
[[nodiscard]] std::string entry_id_from_seq(std::uint64_t seq);

// The entry id of an XRANGE / XREAD element, whatever its fields; empty when there is none.
[[nodiscard]] std::string_view raw_entry_id(const redisReply& reply);

// Reads one entry of an XRANGE / XREAD reply: [entry id, [field, value, ...]]. The views point
// into `reply`. Errc::internal for anything else (a stream written by another program).
[[nodiscard]] Result<RedisEntry> parse_entry(const redisReply& reply);

// The update an entry describes: id, topics, private flag, frame (which carries data, type
// and retry) and, for a subscription event, its Subscription; seq set.
[[nodiscard]] Result<std::shared_ptr<Update>> update_from_entry(const RedisEntry& entry);

// Flags byte ('1' active / '0' inactive, then 'p' with payload / '-' without), then the topic,
// subscriber and payload, each as <decimal length>:<bytes>.
[[nodiscard]] std::string encode_subscription(const Subscription& s);
[[nodiscard]] Result<Subscription> decode_subscription(std::string_view encoded);
// The active ones among an array reply of encoded subscriptions (HVALS of the list); malformed
// ones are left out.
[[nodiscard]] std::vector<Subscription> active_subscriptions(const redisReply& encoded);

}  // namespace mercure
