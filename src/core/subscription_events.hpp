#pragma once
// The subscription events of this hub's subscribers (connect and disconnect), published through
// the transport so that every hub's subscriptions API lists them. An event the transport cannot
// take now (not writable: Redis unreachable, a store refusing writes) or that it refuses is kept
// and published again once the transport says it takes publishes again: the cluster's list
// must not keep a subscriber that left during an outage, or miss one that came.
//
// Only the latest event of each subscription matters (a connect then a disconnect kept during an
// outage: the disconnect alone is sent); an event superseded while in flight is not sent again
// when it fails. At most kMaxKept events wait (then the newest are dropped, with a warning).
// Thread-safe: called from every shard, and (retry) from the transport's thread.

#include "core/subscription.hpp"
#include "core/transport.hpp"
#include "core/uuid.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mercure {

class SubscriptionEvents final {
 public:
  static constexpr std::size_t kMaxKept = 65'536;

  SubscriptionEvents(Transport& transport, UuidGenerator& uuids) : transport_(transport), uuids_(uuids) {}

  // Publishes the event of `s` now, or keeps it (see above). `announces`: see Update::announces.
  void publish(Subscription s, std::uint64_t announces);
  // Publishes what was kept, oldest first (the transport takes publishes again).
  void retry();
  // Events kept, waiting for the transport.
  [[nodiscard]] std::size_t kept() const;

 private:
  struct Event {
    std::string key;  // the subscription's id
    Subscription subscription;
    std::uint64_t announces = 0;
  };

  void send(std::uint64_t generation, Event event);
  // Under mutex_: keeps `event` unless too many are kept.
  void keep(std::uint64_t generation, Event event);

  Transport& transport_;
  UuidGenerator& uuids_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  // Each subscription's latest event (its generation), until a disconnect was published.
  std::unordered_map<std::string, std::uint64_t> latest_;
  std::map<std::uint64_t, Event> kept_;  // by generation: oldest first
  bool dropping_ = false;                // warned about a full kept_ already
};

}  // namespace mercure
