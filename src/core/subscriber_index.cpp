#include "core/subscriber_index.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>

namespace mercure {

namespace {
constexpr std::size_t kNotIndexed = static_cast<std::size_t>(-1);

// FNV-1a, extended a byte at a time, so the prefixes of one topic at every length in use are
// hashed in one pass over it (and its suffixes in one pass from its end, bytes taken last
// first). Collisions only cost a group's own test.
constexpr std::uint64_t kHashStart = 14695981039346656037ULL;
constexpr std::uint64_t kHashPrime = 1099511628211ULL;
std::uint64_t extend_hash(std::uint64_t h, std::string_view bytes) {
  for (const unsigned char c : bytes) h = (h ^ c) * kHashPrime;
  return h;
}
std::uint64_t extend_hash_backwards(std::uint64_t h, std::string_view bytes) {
  for (auto c = bytes.rbegin(); c != bytes.rend(); ++c) h = (h ^ static_cast<unsigned char>(*c)) * kHashPrime;
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

// Marks, per selector, whether an earlier selector of the list has the same text (those are
// not indexed twice). O(k) expected: quadratic comparison only for short lists.
std::vector<bool> duplicates(const std::vector<SelectorPtr>& sels) {
  std::vector<bool> dup(sels.size(), false);
  if (sels.size() <= 16) {
    for (std::size_t i = 1; i < sels.size(); ++i) {
      for (std::size_t j = 0; j < i && !dup[i]; ++j) dup[i] = sels[j]->text() == sels[i]->text();
    }
    return dup;
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(sels.size());
  for (std::size_t i = 0; i < sels.size(); ++i) dup[i] = !seen.insert(sels[i]->text()).second;
  return dup;
}

}  // namespace

SubscriberIndex::Buckets::iterator SubscriberIndex::find_bucket(Buckets& buckets, std::size_t length) {
  return std::lower_bound(buckets.begin(), buckets.end(), length,
                          [](const KeyBucket& b, std::size_t len) { return b.length < len; });
}

std::size_t SubscriberIndex::list_size(Buckets& buckets, std::size_t length, std::uint64_t hash) {
  auto b = find_bucket(buckets, length);
  if (b == buckets.end() || b->length != length) return 0;
  auto list = b->groups.find(hash);
  return list == b->groups.end() ? 0 : list->second.size();
}

void SubscriberIndex::add(Subscriber* s) {
  const auto& sels = s->selectors();
  s->index_slots.positions.assign(sels.size(), kNotIndexed);
  try {
    const std::vector<bool> dup = duplicates(sels);
    for (std::size_t i = 0; i < sels.size(); ++i) {
      if (dup[i]) continue;
      if (sels[i]->is_exact()) {
        add_exact(s, i);
      } else {
        add_pattern(s, i);
      }
    }
    all_.push_back(s);
  } catch (...) {
    unlink(s);  // all or nothing: the caller does not hold a half-added subscriber
    throw;
  }
  s->index_slots.all = all_.size() - 1;
  ++count_;
}

void SubscriberIndex::add_exact(Subscriber* s, std::size_t i) {
  auto [it, fresh] = exact_.try_emplace(s->selectors()[i]->text());
  try {
    it->second.push_back(Entry{s, i});
  } catch (...) {
    if (fresh) exact_.erase(it);
    throw;
  }
  s->index_slots.positions[i] = it->second.size() - 1;
}

void SubscriberIndex::add_pattern(Subscriber* s, std::size_t i) {
  const SelectorPtr& sel = s->selectors()[i];
  auto [it, fresh] = patterns_.try_emplace(sel->text());
  PatternGroup& g = it->second;
  try {
    if (fresh) {
      g.selector = sel;
      link_group(g);
    }
    g.entries.push_back(Entry{s, i});
  } catch (...) {
    if (g.entries.empty()) drop_group(it);
    throw;
  }
  s->index_slots.positions[i] = g.entries.size() - 1;
}

void SubscriberIndex::link_group(PatternGroup& g) {
  // Keyed by the suffix when fewer groups share it than share the prefix: templates that differ
  // only after their first expression spread over lists of their own.
  const std::string_view prefix = g.selector->required_prefix();
  const std::string_view suffix = g.selector->required_suffix();
  const std::uint64_t prefix_hash = extend_hash(kHashStart, prefix);
  const std::uint64_t suffix_hash = extend_hash_backwards(kHashStart, suffix);
  g.by_suffix = !suffix.empty() &&
                list_size(suffixes_, suffix.size(), suffix_hash) < list_size(prefixes_, prefix.size(), prefix_hash);
  g.key_hash = g.by_suffix ? suffix_hash : prefix_hash;
  const std::size_t length = g.by_suffix ? suffix.size() : prefix.size();
  Buckets& buckets = g.by_suffix ? suffixes_ : prefixes_;
  auto b = find_bucket(buckets, length);
  if (b == buckets.end() || b->length != length) {
    b = buckets.insert(b, KeyBucket{});
    b->length = length;
  }
  try {
    auto [list, fresh] = b->groups.try_emplace(g.key_hash);
    try {
      list->second.push_back(&g);
    } catch (...) {
      if (fresh) b->groups.erase(list);
      throw;
    }
    g.key_slot = list->second.size() - 1;
  } catch (...) {
    if (b->groups.empty()) buckets.erase(b);  // a bucket this call inserted
    throw;
  }
  g.linked = true;
}

void SubscriberIndex::drop_group(std::unordered_map<std::string, PatternGroup>::iterator it) {
  PatternGroup& g = it->second;
  if (g.linked) {
    Buckets& buckets = g.by_suffix ? suffixes_ : prefixes_;
    auto b =
        find_bucket(buckets, g.by_suffix ? g.selector->required_suffix().size() : g.selector->required_prefix().size());
    auto list = b->groups.find(g.key_hash);
    swap_remove(list->second, g.key_slot, [](PatternGroup* moved, std::size_t pos) { moved->key_slot = pos; });
    if (list->second.empty()) b->groups.erase(list);
    if (b->groups.empty()) buckets.erase(b);
  }
  patterns_.erase(it);
}

void SubscriberIndex::remove_from(std::vector<Entry>& list, std::size_t position) {
  swap_remove(list, position, [](const Entry& moved, std::size_t pos) {
    moved.subscriber->index_slots.positions[moved.selector] = pos;
  });
}

void SubscriberIndex::unlink(Subscriber* s) {
  const auto& sels = s->selectors();
  auto& positions = s->index_slots.positions;
  for (std::size_t i = 0; i < sels.size(); ++i) {
    if (positions[i] == kNotIndexed) continue;
    const std::string& text = sels[i]->text();
    if (sels[i]->is_exact()) {
      auto it = exact_.find(text);
      remove_from(it->second, positions[i]);
      if (it->second.empty()) exact_.erase(it);
    } else {
      auto it = patterns_.find(text);
      remove_from(it->second.entries, positions[i]);
      if (it->second.entries.empty()) drop_group(it);
    }
    positions[i] = kNotIndexed;
  }
}

void SubscriberIndex::remove(Subscriber* s) {
  unlink(s);
  swap_remove(all_, s->index_slots.all, [](Subscriber* moved, std::size_t pos) { moved->index_slots.all = pos; });
  --count_;
}

void SubscriberIndex::deliver_patterns(const std::string& topic, std::uint64_t seq, const auto& deliver) {
  auto test = [&](const std::vector<PatternGroup*>& groups) {
    for (PatternGroup* g : groups) {
      // Not tested when every subscriber in it has the update already (through another topic,
      // selector or group): one subscription with many matching templates costs one test.
      const bool pending = std::any_of(g->entries.begin(), g->entries.end(),
                                       [seq](const Entry& e) { return e.subscriber->last_dispatch != seq; });
      if (!pending || !g->selector->matches(topic)) continue;
      for (const Entry& e : g->entries) deliver(e.subscriber);
    }
  };
  const std::string_view t = topic;
  std::uint64_t h = kHashStart;
  std::size_t hashed = 0;
  for (const KeyBucket& b : prefixes_) {
    if (b.length > t.size()) break;
    h = extend_hash(h, t.substr(hashed, b.length - hashed));
    hashed = b.length;
    if (auto it = b.groups.find(h); it != b.groups.end()) test(it->second);
  }
  h = kHashStart;
  hashed = 0;
  for (const KeyBucket& b : suffixes_) {
    if (b.length > t.size()) break;
    h = extend_hash_backwards(h, t.substr(t.size() - b.length, b.length - hashed));
    hashed = b.length;
    if (auto it = b.groups.find(h); it != b.groups.end()) test(it->second);
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
      for (const Entry& e : it->second) deliver(e.subscriber);
    }
    if (!patterns_.empty()) deliver_patterns(topic, seq, deliver);
  }
  return delivered;
}

}  // namespace mercure
