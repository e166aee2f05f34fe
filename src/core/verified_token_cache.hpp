#pragma once
// Tokens whose signature and claim structure already verified, so a publisher or subscriber
// that reuses its token (the usual case) is not verified again: signature checking and JSON
// parsing were ~45% of the hub's instructions per publish (callgrind, HS256).
//
// Only the time-independent half of verification is cached (JwtVerifier::verify_untimed): the
// caller checks exp/nbf/iat again at every use. Keys are the exact token bytes, and the cache is
// emptied when the role's keys change (a key set fetched again: sync_generation), so a hit means
// the same answer as a fresh check.
// Failures are never cached. Bounded: past `capacity` tokens, the oldest entry is evicted.
//
// Thread-safety: none; one cache per shard, used on the shard's thread only.

#include "core/claims.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mercure {

class VerifiedTokenCache final {
 public:
  explicit VerifiedTokenCache(std::size_t capacity = 1024);

  // The cached claims of `token`, or nullptr. Valid until the next insert().
  [[nodiscard]] const Claims* find(std::string_view token) const;
  void insert(std::string_view token, Claims claims);
  [[nodiscard]] std::size_t size() const { return map_.size(); }
  // Empties the cache when `generation` (of the keys the entries were verified with) changed.
  void sync_generation(std::uint64_t generation);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::size_t capacity_;
  std::unordered_map<std::string, Claims, Hash, std::equal_to<>> map_;
  std::vector<std::string> order_;  // insertion ring: order_[next_] is the oldest once full
  std::size_t next_ = 0;
  std::uint64_t generation_ = 0;
};

}  // namespace mercure
