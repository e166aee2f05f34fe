#pragma once
// Which shard serves a connection just accepted. SO_REUSEPORT spreads connections over the
// shards by a hash of their addresses and ports: 256 publishers land as 117 and 139, and a
// handful of long-lived connections can all land on one worker while the other idles. The
// accepting shard keeps a connection unless another serves fewer by more than a slack, and
// then hands it to the one that serves the fewest (see Shard::accept_loop).

#include <cstddef>
#include <span>

namespace mercure {

// The slack: a handover costs two epoll_ctl and a post, and the other shards' counts are read
// while they change, so a difference of a few connections (2, plus 1 in 64 of `own`) is kept.
constexpr std::size_t balance_slack(std::size_t own) noexcept {
  return 2 + own / 64;
}

// `loads[i]`: connections shard i serves; `self`: the accepting shard. Returns the shard to
// serve the new connection: `self`, or the least loaded (the first of equals) when `self`
// serves more than it by over the slack.
inline std::size_t pick_shard(std::size_t self, std::span<const std::size_t> loads) noexcept {
  std::size_t best = self;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (loads[i] < loads[best]) best = i;
  }
  if (best == self || loads[self] - loads[best] <= balance_slack(loads[self])) return self;
  return best;
}

}  // namespace mercure
