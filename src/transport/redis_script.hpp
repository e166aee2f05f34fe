#pragma once
// The Lua scripts the Redis transport runs (EVAL, each atomic on the server).
//
// Publish, run for every update:
//   KEYS[1] the stream, KEYS[2] its id index (a hash: update id -> entry id), KEYS[3] the
//   cluster's active subscriptions (a hash: subscription id -> encoded subscription), KEYS[4]
//   this hub's node set (the ids of the subscriptions it announced), KEYS[5] the end events
//   ready for them (a hash: subscription id -> "<update id> <event record>")
//   ARGV[1] the update id, ARGV[2] the size cap (0 = none), ARGV[3] the event record,
//   ARGV[4] the origin, ARGV[5] the encoded subscription ('' for an ordinary update; its first
//   character is '1' when active), ARGV[6] the subscription id, ARGV[7] for an active one, its
//   end event ("<update id> <event record>" of the "active": false update)
// Returns nil when the id is already in the index (the publisher gets 409), else the new entry
// id. Trimming: while the stream holds more than the cap, the oldest entries are deleted with
// their index fields, at most 64 per publish, so one publish never does unbounded work and the
// stream still shrinks back under the cap after the cap is lowered. Field "i" comes first in
// every entry: the trimming loop reads the id there. A subscription event also records (or
// removes) the subscription in KEYS[3], KEYS[4] and KEYS[5], with the entry: a hub that starts
// later reads the list as of the entry it starts reading after, and the end of a subscription
// whose hub dies is ready to be published by another (the node script).

#include <string_view>

namespace mercure {

inline constexpr std::string_view kRedisPublishScript = R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return false end
local entry
if ARGV[5] ~= '' then
  entry = redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'r', ARGV[3], 'o', ARGV[4], 's', ARGV[5])
  if string.sub(ARGV[5], 1, 1) == '1' then
    redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
    redis.call('HSET', KEYS[5], ARGV[6], ARGV[7])
    redis.call('SADD', KEYS[4], ARGV[6])
  else
    redis.call('HDEL', KEYS[3], ARGV[6])
    redis.call('HDEL', KEYS[5], ARGV[6])
    redis.call('SREM', KEYS[4], ARGV[6])
  end
else
  entry = redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'r', ARGV[3], 'o', ARGV[4])
end
redis.call('HSET', KEYS[2], ARGV[1], entry)
local cap = tonumber(ARGV[2])
if cap > 0 then
  local over = redis.call('XLEN', KEYS[1]) - cap
  if over > 0 then
    if over > 64 then over = 64 end
    for _, old in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)) do
      if old[2][1] == 'i' then redis.call('HDEL', KEYS[2], old[2][2]) end
      redis.call('XDEL', KEYS[1], old[1])
    end
  end
end
return entry
)lua";

// Start-up: where to start reading, and the subscriptions active as of that entry.
//   KEYS[1] the stream, KEYS[2] the active subscriptions
// Returns {XREVRANGE's newest entry (empty when none), the encoded subscriptions}.
inline constexpr std::string_view kRedisStartScript = R"lua(
return {redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1), redis.call('HVALS', KEYS[2])}
)lua";

// A history scan's check for trimming, sent right after its XRANGE: the newest entry deleted
// from the stream (XINFO STREAM's max-deleted-entry-id); '' on a Redis older than 7 or without
// the stream. Run here rather than sent as XINFO STREAM: that reply carries the first and last
// entries.
//   KEYS[1] the stream
inline constexpr std::string_view kRedisDeletedScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info - 1, 2 do
  if info[i] == 'max-deleted-entry-id' then return info[i + 1] end
end
return ''
)lua";

// A hub's sign of life, every second, and the end of a dead hub's subscriptions:
//   KEYS[1] the hubs (a sorted set: node -> when it is taken for dead, ms of Redis's clock),
//   KEYS[2] the active subscriptions, KEYS[3] their end events, KEYS[4] the stream, KEYS[5] its
//   id index, KEYS[6] the claim hold (until when no hub is taken for dead)
//   ARGV[1] this node, ARGV[2] its timeout (ms; '0': it stops, taken for dead now), ARGV[3] the
//   node set key prefix, ARGV[4] '1' once this hub was listed by an earlier call
// A hub found dead (its time passed) has its subscriptions ended by the script itself: each
// one's end event, prepared when it was announced, is appended to the stream (origin "claim")
// and the subscription leaves the list; at most 256 per call (a dead hub with more stays, as
// dead since time 0, for the next call). So exactly one end per subscription, nothing lost with a reply. A hub whose
// own time had passed (Redis or the hub stalled: every hub's time may have passed) holds every
// claim for one timeout, so that the others can show they are alive first.
// Returns {forgotten, dead node or '', number of its subscriptions ended}: forgotten is 1 when
// this hub, listed before, was not any more (taken for dead while it stalled, or Redis emptied):
// it then announces its subscriptions again.

inline constexpr std::string_view kRedisNodeScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local timeout = tonumber(ARGV[2])
if timeout == 0 then
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
  return {0, '', 0}
end
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
local forgotten = 0
if ARGV[4] == '1' and (not previous or tonumber(previous) == 0) then forgotten = 1 end
if previous and tonumber(previous) > 0 and tonumber(previous) < now then
  redis.call('SET', KEYS[6], now + timeout, 'PX', timeout)
end
redis.call('ZADD', KEYS[1], now + timeout, ARGV[1])
local hold = redis.call('GET', KEYS[6])
if hold and tonumber(hold) > now then return {forgotten, '', 0} end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #dead == 0 then return {forgotten, '', 0} end
local node = dead[1]
local set = ARGV[3] .. node
local ids = redis.call('SPOP', set, 256)
if redis.call('SCARD', set) == 0 then
  redis.call('ZREM', KEYS[1], node)
else
  redis.call('ZADD', KEYS[1], 0, node)
end
local ended = 0
for _, id in ipairs(ids) do
  local s = redis.call('HGET', KEYS[2], id)
  local e = redis.call('HGET', KEYS[3], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  if s and e then
    local space = string.find(e, ' ', 1, true)
    local update = string.sub(e, 1, space - 1)
    if redis.call('HEXISTS', KEYS[5], update) == 0 then
      local entry = redis.call('XADD', KEYS[4], '*', 'i', update, 'r', string.sub(e, space + 1), 'o', 'claim',
        's', '0' .. string.sub(s, 2))
      redis.call('HSET', KEYS[5], update, entry)
      ended = ended + 1
    end
  end
end
return {forgotten, node, ended}
)lua";

}  // namespace mercure
