#pragma once
// The Mercure hub's transport-independent logic: validating and authorizing a publish,
// assigning its id, serializing its frame once, and handing it to the transport.
// Thread-safety: all members are safe to call from any shard thread concurrently.

#include "core/claims.hpp"
#include "core/error.hpp"
#include "core/publish_form.hpp"
#include "core/selector_cache.hpp"
#include "core/subscriber.hpp"
#include "core/subscription.hpp"
#include "core/subscription_events.hpp"
#include "core/subscription_registry.hpp"
#include "core/transport.hpp"
#include "core/uuid.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class Hub final {
 public:
  Hub(Transport& transport, SelectorCache& selectors, UuidGenerator& uuids);

  // Validates `form` against the publisher's `claims`, builds the update and hands it to the
  // transport. Returns the update's id, or the error that stopped it before the transport (403
  // for a topic not granted or reserved), in which case `done` is never called. Otherwise the
  // transport calls `done` once, on any thread, when it has acknowledged the update (durable)
  // or refused it (409, 503); that may happen before publish() returns (LocalTransport).
  [[nodiscard]] Result<std::string> publish(PublishForm form, const Claims& claims, Transport::Done done);

  // Active subscriptions (null when the feature is off): set once at start-up, before serving.
  void set_subscriptions(SubscriptionRegistry* registry) { subscriptions_ = registry; }
  [[nodiscard]] SubscriptionRegistry* subscriptions() const { return subscriptions_; }
  // A new subscriber identifier ("urn:uuid:<UUIDv7>"), unique in this process and across restarts.
  [[nodiscard]] std::string new_subscriber_id();
  // Publishes the private subscription event of `s` through the transport (like any update:
  // stored, dispatched, seen by the registry); one the transport cannot take now is kept and
  // published once it takes publishes again (see SubscriptionEvents). `announces`: the announced
  // subscriber's tag on a connect event (it does not receive its own), else 0.
  void publish_subscription(Subscription s, std::uint64_t announces = 0) {
    subscription_events_.publish(std::move(s), announces);
  }
  [[nodiscard]] const SubscriptionEvents& subscription_events() const { return subscription_events_; }

  // Compiles subscription selectors through the bounded cache.
  [[nodiscard]] std::vector<SelectorPtr> compile(const std::vector<std::string>& selectors);

  [[nodiscard]] Transport& transport() { return transport_; }

 private:
  Transport& transport_;
  SelectorCache& selectors_;
  UuidGenerator& uuids_;
  SubscriptionRegistry* subscriptions_ = nullptr;
  SubscriptionEvents subscription_events_;
};

// True for topics the hub reserves (`/.well-known/mercure...`, as a path or in a URL).
[[nodiscard]] bool is_reserved_topic(std::string_view topic);

}  // namespace mercure
