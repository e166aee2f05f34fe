#pragma once
// Per-shard index of subscribers: exact topic -> subscribers, plus the short list of
// subscribers that have pattern selectors ("*" or URI templates).
//
// A publish costs O(subscribers that match an exact topic + subscribers with patterns),
// never O(all subscribers). Thread-safety: none; owned and used by one shard thread.

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

  // Calls f(Subscriber&) for every subscriber (shutdown, diagnostics).
  template <class F>
  void for_each(F&& f) {
    for (Subscriber* s : all_) f(*s);
  }

 private:
  std::unordered_map<std::string, std::vector<Subscriber*>> exact_;
  std::vector<Subscriber*> patterns_;
  std::vector<Subscriber*> all_;
  std::size_t count_ = 0;
  std::uint64_t dispatch_seq_ = 0;
};

}  // namespace mercure
