#pragma once
// Active subscriptions (PROTOCOL.md "Active subscriptions"): one Subscription per (subscriber,
// topic selector), its update topic `/.well-known/mercure/subscriptions/{topic}/{subscriber}`
// (RFC 6570 simple expansion: every reserved character percent-encoded) and its JSON-LD
// document. Pure functions over plain values.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

inline constexpr std::string_view kSubscriptionsPath = "/.well-known/mercure/subscriptions";
inline constexpr std::string_view kJsonLdContext = "https://mercure.rocks/";

struct Subscription {
  std::string topic;                        // the topic selector as subscribed
  std::string subscriber;                   // unique per connection: "urn:uuid:..."
  std::optional<std::string> payload_json;  // mercure.payload of the subscriber's token (compact JSON)
  bool active = true;
};

// `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, each variable percent-encoded.
// It is both the subscription event's topic and the document's `id`.
[[nodiscard]] std::string subscription_id(std::string_view topic, std::string_view subscriber);

// The JSON-LD document of one subscription (compact JSON). `with_context` adds `@context`
// (omitted inside a collection); `last_event_id` adds `lastEventID` (the single-subscription
// API response).
[[nodiscard]] std::string subscription_json(const Subscription& s, bool with_context,
                                            const std::string* last_event_id = nullptr);

// A collection document: `@context`, `id` (the URL asked for), `type: "Subscriptions"`,
// `lastEventID` and `subscriptions` (each without `@context`).
// A subscription as the registry lists it: immutable and shared by every listing, its JSON as a
// collection member made once, by the first listing that needs it (any thread).
class ListedSubscription final {
 public:
  explicit ListedSubscription(Subscription s) : value(std::move(s)) {}
  const Subscription value;
  [[nodiscard]] const std::string& member_json() const;

 private:
  mutable std::once_flag once_;
  mutable std::string json_;
};
using SubscriptionPtr = std::shared_ptr<const ListedSubscription>;

[[nodiscard]] std::string subscriptions_json(std::string_view id, std::string_view last_event_id,
                                             const std::vector<SubscriptionPtr>& subscriptions);

}  // namespace mercure
