#include "core/subscriber_index.hpp"

#include <string>

namespace mercure {

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Removes position `pos` of `v` by moving the last element there; `moved(who, pos)` is told
// where the moved element now sits.
template <class Moved>
void swap_remove(std::vector<Subscriber*>& v, std::size_t pos, Moved&& moved) {
  Subscriber* last = v.back();
  v.pop_back();
  if (pos < v.size()) {
    v[pos] = last;
    moved(last, pos);
  }
}

bool earlier_duplicate(const std::vector<SelectorPtr>& sels, std::size_t i) {
  for (std::size_t j = 0; j < i; ++j) {
    if (sels[j]->is_exact() && sels[j]->text() == sels[i]->text()) return true;
  }
  return false;
}
}  // namespace

void SubscriberIndex::add(Subscriber* s) {
  const auto& sels = s->selectors();
  auto& slots = s->index_slots;
  slots.exact.assign(sels.size(), kNone);
  for (std::size_t i = 0; i < sels.size(); ++i) {
    if (!sels[i]->is_exact() || earlier_duplicate(sels, i)) continue;
    auto& bucket = exact_[sels[i]->text()];
    slots.exact[i] = bucket.size();
    bucket.push_back(s);
  }
  if (s->has_pattern_selectors()) {
    slots.pattern = patterns_.size();
    patterns_.push_back(s);
  }
  slots.all = all_.size();
  all_.push_back(s);
  ++count_;
}

void SubscriberIndex::remove(Subscriber* s) {
  const auto& sels = s->selectors();
  auto& slots = s->index_slots;
  for (std::size_t i = 0; i < sels.size(); ++i) {
    if (slots.exact[i] == kNone) continue;
    const std::string& topic = sels[i]->text();
    auto it = exact_.find(topic);
    swap_remove(it->second, slots.exact[i], [&](Subscriber* moved, std::size_t pos) {
      const auto& msels = moved->selectors();
      for (std::size_t j = 0; j < msels.size(); ++j) {
        if (moved->index_slots.exact[j] != kNone && msels[j]->text() == topic) {
          moved->index_slots.exact[j] = pos;
          break;
        }
      }
    });
    if (it->second.empty()) exact_.erase(it);
    slots.exact[i] = kNone;
  }
  if (s->has_pattern_selectors()) {
    swap_remove(patterns_, slots.pattern, [](Subscriber* moved, std::size_t pos) { moved->index_slots.pattern = pos; });
  }
  swap_remove(all_, slots.all, [](Subscriber* moved, std::size_t pos) { moved->index_slots.all = pos; });
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
