#pragma once
// The Lua script every publish runs in Redis (EVAL, atomic on the server):
//   KEYS[1] the stream, KEYS[2] its id index (a hash: update id -> entry id)
//   ARGV[1] the update id, ARGV[2] the size cap (0 = none), ARGV[3] the event record,
//   ARGV[4] the origin, ARGV[5] the encoded subscription ('' for an ordinary update)
// Returns nil when the id is already in the index (the publisher gets 409), else the new entry
// id. Trimming: while the stream holds more than the cap, the oldest entries are deleted with
// their index fields, at most 64 per publish, so one publish never does unbounded work and the
// stream still shrinks back under the cap after the cap is lowered. Field "i" comes first in
// every entry: the trimming loop reads the id there.

#include <string_view>

namespace mercure {

inline constexpr std::string_view kRedisPublishScript = R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return false end
local entry
if ARGV[5] ~= '' then
  entry = redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'r', ARGV[3], 'o', ARGV[4], 's', ARGV[5])
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

}  // namespace mercure
