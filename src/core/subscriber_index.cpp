#include "core/subscriber_index.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace mercure {

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// FNV-1a, extended a byte at a time, so the prefixes of one topic at every length in use are
// hashed in one pass over it. Collisions only cost a group's own test.
constexpr std::uint64_t kHashStart = 14695981039346656037ULL;
constexpr std::uint64_t kHashPrime = 1099511628211ULL;
std::uint64_t extend_hash(std::uint64_t h, std::string_view bytes) {
  for (const unsigned char c : bytes) h = (h ^ c) * kHashPrime;
  return h;
}

// Removes position `pos` of `v` by moving the last element there; `moved(who, pos)` is told
// where the moved element now sits.
template <class T, class Moved>
void swap_remove(std::vector<T>& v, std::size_t pos, Moved&& moved) {
  T last = v.back();
  v.pop_back();
  if (pos < v.size()) {
    v[pos] = last;
    moved(last, pos);
  }
}

bool earlier_duplicate(const std::vector<SelectorPtr>& sels, std::size_t i) {
  for (std::size_t j = 0; j < i; ++j) {
    if (sels[j]->text() == sels[i]->text()) return true;
  }
  return false;
}

// After `moved` took position `pos` in the list of its selector `text`, records it there.
void moved_to(Subscriber* moved, const std::string& text, std::size_t pos) {
  const auto& sels = moved->selectors();
  for (std::size_t j = 0; j < sels.size(); ++j) {
    if (moved->index_slots.positions[j] != kNone && sels[j]->text() == text) {
      moved->index_slots.positions[j] = pos;
      return;
    }
  }
}
}  // namespace

void SubscriberIndex::add(Subscriber* s) {
  const auto& sels = s->selectors();
  auto& positions = s->index_slots.positions;
  positions.assign(sels.size(), kNone);
  for (std::size_t i = 0; i < sels.size(); ++i) {
    if (earlier_duplicate(sels, i)) continue;
    if (sels[i]->is_exact()) {
      auto& bucket = exact_[sels[i]->text()];
      positions[i] = bucket.size();
      bucket.push_back(s);
    } else {
      add_pattern(s, sels[i], positions[i]);
    }
  }
  s->index_slots.all = all_.size();
  all_.push_back(s);
  ++count_;
}

void SubscriberIndex::add_pattern(Subscriber* s, const SelectorPtr& sel, std::size_t& position) {
  auto [it, fresh] = patterns_.try_emplace(sel->text());
  PatternGroup& g = it->second;
  if (fresh) {
    g.selector = sel;
    const std::string_view prefix = sel->required_prefix();
    g.prefix_hash = extend_hash(kHashStart, prefix);
    auto b = std::lower_bound(prefixes_.begin(), prefixes_.end(), prefix.size(),
                              [](const PrefixBucket& pb, std::size_t len) { return pb.length < len; });
    if (b == prefixes_.end() || b->length != prefix.size()) {
      b = prefixes_.insert(b, PrefixBucket{});
      b->length = prefix.size();
    }
    auto& list = b->groups[g.prefix_hash];
    g.prefix_slot = list.size();
    list.push_back(&g);
  }
  position = g.subscribers.size();
  g.subscribers.push_back(s);
}

void SubscriberIndex::remove(Subscriber* s) {
  const auto& sels = s->selectors();
  auto& positions = s->index_slots.positions;
  for (std::size_t i = 0; i < sels.size(); ++i) {
    if (positions[i] == kNone) continue;
    const std::string& text = sels[i]->text();
    if (sels[i]->is_exact()) {
      auto it = exact_.find(text);
      swap_remove(it->second, positions[i], [&](Subscriber* moved, std::size_t pos) { moved_to(moved, text, pos); });
      if (it->second.empty()) exact_.erase(it);
    } else {
      remove_pattern(text, positions[i]);
    }
    positions[i] = kNone;
  }
  swap_remove(all_, s->index_slots.all, [](Subscriber* moved, std::size_t pos) { moved->index_slots.all = pos; });
  --count_;
}

void SubscriberIndex::remove_pattern(const std::string& text, std::size_t position) {
  auto it = patterns_.find(text);
  PatternGroup& g = it->second;
  swap_remove(g.subscribers, position, [&](Subscriber* moved, std::size_t pos) { moved_to(moved, text, pos); });
  if (!g.subscribers.empty()) return;
  const std::size_t length = g.selector->required_prefix().size();
  auto b = std::lower_bound(prefixes_.begin(), prefixes_.end(), length,
                            [](const PrefixBucket& pb, std::size_t len) { return pb.length < len; });
  auto list = b->groups.find(g.prefix_hash);
  swap_remove(list->second, g.prefix_slot, [](PatternGroup* moved, std::size_t pos) { moved->prefix_slot = pos; });
  if (list->second.empty()) b->groups.erase(list);
  if (b->groups.empty()) prefixes_.erase(b);
  patterns_.erase(it);
}

void SubscriberIndex::deliver_patterns(const std::string& topic, std::uint64_t seq, const auto& deliver) {
  std::uint64_t h = kHashStart;
  std::size_t hashed = 0;
  for (const PrefixBucket& b : prefixes_) {
    if (b.length > topic.size()) break;
    h = extend_hash(h, std::string_view(topic).substr(hashed, b.length - hashed));
    hashed = b.length;
    auto it = b.groups.find(h);
    if (it == b.groups.end()) continue;
    for (PatternGroup* g : it->second) {
      if (g->matched == seq || !g->selector->matches(topic)) continue;
      g->matched = seq;
      for (Subscriber* s : g->subscribers) deliver(s);
    }
  }
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
    if (auto it = exact_.find(topic); it != exact_.end()) {
      for (Subscriber* s : it->second) deliver(s);
    }
    if (!prefixes_.empty()) deliver_patterns(topic, seq, deliver);
  }
  return delivered;
}

}  // namespace mercure
