#include "core/subscription_registry.hpp"

namespace mercure {

void SubscriptionRegistry::set_last_event_id(std::string id) {
  std::lock_guard lock(mutex_);
  last_event_id_ = std::move(id);
}

void SubscriptionRegistry::observe(const Update& update) {
  std::lock_guard lock(mutex_);
  last_event_id_ = update.id;
  if (!update.subscription) return;
  const auto& s = *update.subscription;
  auto key = std::make_pair(s.topic, s.subscriber);
  if (s.active) {
    active_.insert_or_assign(std::move(key), std::make_shared<const ListedSubscription>(s));
  } else {
    active_.erase(key);
  }
}

void SubscriptionRegistry::seed(std::vector<Subscription> subscriptions) {
  std::lock_guard lock(mutex_);
  add_active(std::move(subscriptions));
}

void SubscriptionRegistry::reset(std::vector<Subscription> subscriptions) {
  std::lock_guard lock(mutex_);
  active_.clear();
  // The history is read again from its start: the last id seen named an event of the old one
  // (and is the collection's ETag, which must change with the list).
  last_event_id_ = "earliest";
  add_active(std::move(subscriptions));
}

void SubscriptionRegistry::add_active(std::vector<Subscription> subscriptions) {
  for (auto& s : subscriptions) {
    if (!s.active) continue;
    auto key = std::make_pair(s.topic, s.subscriber);
    active_.insert_or_assign(std::move(key), std::make_shared<const ListedSubscription>(std::move(s)));
  }
}

SubscriptionRegistry::Snapshot SubscriptionRegistry::list(const std::optional<std::string_view>& topic) const {
  std::lock_guard lock(mutex_);
  Snapshot out{last_event_id_, {}};
  if (!topic) {
    out.subscriptions.reserve(active_.size());
    for (const auto& [key, s] : active_) out.subscriptions.push_back(s);
    return out;
  }
  for (auto it = active_.lower_bound(std::make_pair(std::string(*topic), std::string()));
       it != active_.end() && it->first.first == *topic; ++it) {
    out.subscriptions.push_back(it->second);
  }
  return out;
}

std::pair<std::string, std::optional<Subscription>> SubscriptionRegistry::find(std::string_view topic,
                                                                               std::string_view subscriber) const {
  std::lock_guard lock(mutex_);
  auto it = active_.find(std::make_pair(std::string(topic), std::string(subscriber)));
  if (it == active_.end()) return {last_event_id_, std::nullopt};
  return {last_event_id_, it->second->value};
}

std::string SubscriptionRegistry::last_event_id() const {
  std::lock_guard lock(mutex_);
  return last_event_id_;
}

std::size_t SubscriptionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return active_.size();
}

}  // namespace mercure
