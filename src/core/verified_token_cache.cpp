#include "core/verified_token_cache.hpp"

namespace mercure {

VerifiedTokenCache::VerifiedTokenCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  map_.reserve(capacity_);
  order_.reserve(capacity_);
}

const Claims* VerifiedTokenCache::find(std::string_view token) const {
  auto it = map_.find(token);
  return it == map_.end() ? nullptr : &it->second;
}

void VerifiedTokenCache::insert(std::string_view token, Claims claims) {
  if (map_.find(token) != map_.end()) return;
  if (order_.size() < capacity_) {
    order_.emplace_back(token);
  } else {
    map_.erase(order_[next_]);
    order_[next_] = std::string(token);
    next_ = (next_ + 1) % capacity_;
  }
  map_.emplace(std::string(token), std::move(claims));
}

void VerifiedTokenCache::sync_generation(std::uint64_t generation) {
  if (generation == generation_) return;
  generation_ = generation;
  map_.clear();
  order_.clear();
  next_ = 0;
}

}  // namespace mercure
