#include "core/subscription.hpp"

#include "core/form_data.hpp"
#include "core/json_text.hpp"

#include <boost/json.hpp>

namespace mercure {

std::string subscription_id(std::string_view topic, std::string_view subscriber) {
  std::string id(kSubscriptionsPath);
  id += '/';
  id += percent_encode(topic, true);
  id += '/';
  id += percent_encode(subscriber, true);
  return id;
}

std::string subscription_json(const Subscription& s, bool with_context, const std::string* last_event_id) {
  boost::json::object doc;
  if (with_context) doc["@context"] = kJsonLdContext;
  doc["id"] = subscription_id(s.topic, s.subscriber);
  doc["type"] = "Subscription";
  doc["topic"] = s.topic;
  doc["subscriber"] = s.subscriber;
  doc["active"] = s.active;
  if (s.payload_json) {
    // Re-serialized by the JWT verifier, so it parses; a failure would be a bug, not input.
    boost::system::error_code ec;
    auto payload = boost::json::parse(*s.payload_json, ec);
    if (!ec) doc["payload"] = std::move(payload);
  }
  if (last_event_id != nullptr) doc["lastEventID"] = *last_event_id;
  return serialize_json(doc);
}

const std::string& ListedSubscription::member_json() const {
  std::call_once(once_, [this] { json_ = subscription_json(value, false); });
  return json_;
}

std::string subscriptions_json(std::string_view id, std::string_view last_event_id,
                               const std::vector<SubscriptionPtr>& subscriptions) {
  std::string out = "{\"@context\":";
  out += boost::json::serialize(boost::json::string(kJsonLdContext));
  out += ",\"id\":";
  out += boost::json::serialize(boost::json::string(id));
  out += ",\"type\":\"Subscriptions\",\"lastEventID\":";
  out += boost::json::serialize(boost::json::string(last_event_id));
  out += ",\"subscriptions\":[";
  for (std::size_t i = 0; i < subscriptions.size(); ++i) {
    if (i > 0) out += ',';
    out += subscriptions[i]->member_json();
  }
  out += "]}";
  return out;
}

}  // namespace mercure
