#pragma once
// Per-shard index of subscribers, so that a publish costs what it delivers, not what is connected:
//   - exact topics: topic -> its subscribers (a hash lookup per topic of the update);
//   - pattern selectors ("*" and URI templates): one group per distinct selector text, holding
//     every subscriber with that selector, so a template thousands of subscribers share is
//     tested once per topic; groups are found by the selector's required prefix (the literal
//     text before its first expression), so only templates whose prefix begins the topic are
//     tested at all.
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
    std::uint64_t prefix_hash = 0;  // of selector->required_prefix()
    std::size_t prefix_slot = 0;    // position in its prefix bucket's list
    bool linked = false;            // in its prefix bucket's list
  };
  // The groups whose required prefix has one length, by the prefix's hash. Two prefixes with
  // the same hash share a list; a group's own test rejects topics that do not start with it.
  struct PrefixBucket {
    std::size_t length = 0;
    std::unordered_map<std::uint64_t, std::vector<PatternGroup*>> groups;
  };

  void add_exact(Subscriber* s, std::size_t i);
  void add_pattern(Subscriber* s, std::size_t i);
  // Takes `s` out of every list its selectors put it in (a complete or a partial add()).
  void unlink(Subscriber* s);
  void remove_from(std::vector<Entry>& list, std::size_t position);
  std::vector<PrefixBucket>::iterator find_bucket(std::size_t length);
  void link_group(PatternGroup& g);
  void drop_group(std::unordered_map<std::string, PatternGroup>::iterator it);
  void deliver_patterns(const std::string& topic, std::uint64_t seq, const auto& deliver);

  std::unordered_map<std::string, std::vector<Entry>> exact_;
  std::unordered_map<std::string, PatternGroup> patterns_;  // by selector text; nodes are stable
  std::vector<PrefixBucket> prefixes_;                      // by ascending length
  std::vector<Subscriber*> all_;
  std::size_t count_ = 0;
  std::uint64_t dispatch_seq_ = 0;
};

}  // namespace mercure
