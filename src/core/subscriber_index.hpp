#pragma once
// Per-shard index of subscribers, so that a publish costs what it delivers, not what is connected:
//   - exact topics: topic -> its subscribers (a hash lookup per topic of the update);
//   - pattern selectors ("*" and URI templates): one group per distinct selector text, holding
//     every subscriber with that selector, so a template thousands of subscribers share is
//     tested once per topic; groups are found by the selector's required prefix (the literal
//     text before its first expression), so only templates whose prefix begins the topic are
//     tested at all.
// A publish costs O(topics x (topic length + prefix lengths in use + groups tested) + matching
// subscribers). Thread-safety: none; owned and used by one shard thread.

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
  // The subscribers holding one pattern selector text.
  struct PatternGroup {
    SelectorPtr selector;
    std::vector<Subscriber*> subscribers;
    std::uint64_t prefix_hash = 0;  // of selector->required_prefix()
    std::size_t prefix_slot = 0;    // position in its prefix bucket's list
    std::uint64_t matched = 0;      // the dispatch that last delivered it
  };
  // The groups whose required prefix has one length, by the prefix's hash. Two prefixes with
  // the same hash share a list; a group's own test rejects topics that do not start with it.
  struct PrefixBucket {
    std::size_t length = 0;
    std::unordered_map<std::uint64_t, std::vector<PatternGroup*>> groups;
  };

  void add_pattern(Subscriber* s, const SelectorPtr& sel, std::size_t& position);
  void remove_pattern(const std::string& text, std::size_t position);
  void deliver_patterns(const std::string& topic, std::uint64_t seq, const auto& deliver);

  std::unordered_map<std::string, std::vector<Subscriber*>> exact_;
  std::unordered_map<std::string, PatternGroup> patterns_;  // by selector text; nodes are stable
  std::vector<PrefixBucket> prefixes_;                      // by ascending length
  std::vector<Subscriber*> all_;
  std::size_t count_ = 0;
  std::uint64_t dispatch_seq_ = 0;
};

}  // namespace mercure
