#include "core/subscriber_index.hpp"

#include <algorithm>

namespace mercure {

namespace {
void erase_one(std::vector<Subscriber*>& v, Subscriber* s) {
  auto it = std::find(v.begin(), v.end(), s);
  if (it != v.end()) {
    *it = v.back();  // order inside a bucket does not matter
    v.pop_back();
  }
}
}  // namespace

void SubscriberIndex::add(Subscriber* s) {
  for (const auto& sel : s->selectors()) {
    if (sel->is_exact()) {
      auto& bucket = exact_[sel->text()];
      if (std::find(bucket.begin(), bucket.end(), s) == bucket.end()) bucket.push_back(s);
    }
  }
  if (s->has_pattern_selectors()) patterns_.push_back(s);
  all_.push_back(s);
  ++count_;
}

void SubscriberIndex::remove(Subscriber* s) {
  for (const auto& sel : s->selectors()) {
    if (!sel->is_exact()) continue;
    auto it = exact_.find(sel->text());
    if (it == exact_.end()) continue;
    erase_one(it->second, s);
    if (it->second.empty()) exact_.erase(it);
  }
  if (s->has_pattern_selectors()) erase_one(patterns_, s);
  erase_one(all_, s);
  --count_;
}

std::size_t SubscriberIndex::dispatch(const UpdatePtr& u) {
  const std::uint64_t seq = ++dispatch_seq_;
  std::size_t delivered = 0;
  auto deliver = [&](Subscriber* s) {
    if (s->last_dispatch == seq) return;  // already handled for this update
    s->last_dispatch = seq;
    if (!s->may_see(*u)) return;
    s->push(u);
    ++delivered;
  };
  for (const auto& topic : u->topics) {
    auto it = exact_.find(topic);
    if (it == exact_.end()) continue;
    for (Subscriber* s : it->second) deliver(s);
  }
  for (Subscriber* s : patterns_) {
    if (s->last_dispatch == seq) continue;
    bool hit = false;
    for (const auto& topic : u->topics) {
      for (const auto& sel : s->selectors()) {
        if (!sel->is_exact() && sel->matches(topic)) {
          hit = true;
          break;
        }
      }
      if (hit) break;
    }
    if (hit) deliver(s);
  }
  return delivered;
}

}  // namespace mercure
