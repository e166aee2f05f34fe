#pragma once
// Per-shard index of subscribers, so that a publish costs what it delivers, not what is connected:
//   - exact topics: topic -> its subscribers (a hash lookup per topic of the update);
//   - pattern selectors ("*" and URI templates): one group per distinct selector text, holding
//     every subscriber with that selector, so a template thousands of subscribers share is
//     tested once per topic; groups are found by the selector's required prefix (the literal
//     text before its first expression) or, when fewer groups share it, its required suffix
//     (the literal text after its last expression), so only templates whose prefix begins the
//     topic, or whose suffix ends it, are tested at all (`/users/{id}/7` and `/users/{id}/8`
//     share a prefix, not a suffix).
// A publish costs O(topics x (topic length + prefix lengths in use + groups tested) + matching
// subscribers); a group whose subscribers all have the update already is not tested again.
// add() and remove() cost O(selectors of the subscriber), and add() either indexes every
// selector or, when it throws, none. Thread-safety: none; owned and used by one shard thread.

#include "core/subscriber.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mercure {

class SubscriberIndex final {
 public:
  void add(Subscriber* s);
  void remove(Subscriber* s);

  // Pushes `u` once into the outbox of every subscriber that matches it (selectors and
  // private visibility). Returns the number of subscribers it was delivered to.
  std::size_t dispatch(const UpdatePtr& u);

  [[nodiscard]] std::size_t size() const { return count_; }
  // Distinct pattern selectors held (diagnostics, tests).
  [[nodiscard]] std::size_t pattern_groups() const { return patterns_.size(); }

  // Calls f(Subscriber&) for every subscriber (shutdown, diagnostics).
  template <class F>
  void for_each(F&& f) {
    for (Subscriber* s : all_) f(*s);
  }

 private:
  // A subscriber in a list, with which of its selectors put it there (so that the subscriber
  // moved into a freed place is told in O(1)).
  struct Entry {
    Subscriber* subscriber;
    std::size_t selector;
  };
  // The subscribers holding one pattern selector text.
  struct PatternGroup {
    SelectorPtr selector;
    std::vector<Entry> entries;
    bool linked = false;     // in a key list
    bool by_suffix = false;  // that list is keyed by the required suffix, not the prefix
    std::uint64_t key_hash = 0;
    std::size_t key_slot = 0;  // position in that list
  };
  // The groups whose key (required prefix, or suffix) has one length, by the key's hash. Two
  // keys with the same hash share a list; a group's own test rejects topics without its key.
  struct KeyBucket {
    std::size_t length = 0;
    std::unordered_map<std::uint64_t, std::vector<PatternGroup*>> groups;
  };
  using Buckets = std::vector<KeyBucket>;  // by ascending length

  void add_exact(Subscriber* s, std::size_t i);
  void add_pattern(Subscriber* s, std::size_t i);
  // Takes `s` out of every list its selectors put it in (a complete or a partial add()).
  void unlink(Subscriber* s);
  void remove_from(std::vector<Entry>& list, std::size_t position);
  static Buckets::iterator find_bucket(Buckets& buckets, std::size_t length);
  static std::size_t list_size(Buckets& buckets, std::size_t length, std::uint64_t hash);
  void link_group(PatternGroup& g);
  void drop_group(std::unordered_map<std::string, PatternGroup>::iterator it);
  void deliver_patterns(const std::string& topic, std::uint64_t seq, const auto& deliver);

  std::unordered_map<std::string, std::vector<Entry>> exact_;
  std::unordered_map<std::string, PatternGroup> patterns_;  // by selector text; nodes are stable
  Buckets prefixes_;
  Buckets suffixes_;
  std::vector<Subscriber*> all_;
  std::size_t count_ = 0;
  std::uint64_t dispatch_seq_ = 0;
};

}  // namespace mercure
