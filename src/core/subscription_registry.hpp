#pragma once
// The hub's view of active subscriptions and of the last event id, for the subscription API.
// It is fed by the transport (a listener sees every update in the global order): subscription
// events add or remove entries, every update moves the last event id. So the list and
// `lastEventID` always agree with what the transport dispatched, and a hub that joins others
// through a shared transport sees their subscriptions too.
//
// Thread-safety: every member may be called from any thread (one mutex; observe() takes it
// only briefly, and only the subscription API reads). Entries are immutable and shared, so a
// listing holds the mutex for pointer copies only (the transport's writer waits on it).

#include "core/subscription.hpp"
#include "core/update.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

class SubscriptionRegistry final {
 public:
  struct Snapshot {
    std::string last_event_id;  // "earliest" when nothing was dispatched yet
    std::vector<SubscriptionPtr> subscriptions;
  };

  // The last id the transport holds at start-up (a durable store's newest event).
  void set_last_event_id(std::string id);

  // Transport listener: called for every dispatched update.
  void observe(const Update& update);
  // The subscriptions a shared transport lists as active when this hub starts (other hubs').
  void seed(std::vector<Subscription> subscriptions);
  // Forgets every subscription and the last event id ("earliest" again), then seeds (the shared
  // transport's history started again).
  void reset(std::vector<Subscription> subscriptions);

  // Active subscriptions, ordered by (topic, subscriber); `topic` filters when set.
  [[nodiscard]] Snapshot list(const std::optional<std::string_view>& topic = std::nullopt) const;
  // One active subscription, with the last event id.
  [[nodiscard]] std::pair<std::string, std::optional<Subscription>> find(std::string_view topic,
                                                                         std::string_view subscriber) const;
  [[nodiscard]] std::string last_event_id() const;
  [[nodiscard]] std::size_t size() const;

 private:
  // Adds the active ones; the caller holds mutex_.
  void add_active(std::vector<Subscription> subscriptions);

  mutable std::mutex mutex_;
  std::string last_event_id_ = "earliest";
  std::map<std::pair<std::string, std::string>, SubscriptionPtr, std::less<>> active_;
};

}  // namespace mercure
