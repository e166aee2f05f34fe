#include "core/subscription_events.hpp"

#include "core/sse_frame.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <utility>
#include <vector>

namespace mercure {

void SubscriptionEvents::publish(Subscription s, std::uint64_t announces) {
  Event event{subscription_id(s.topic, s.subscriber), std::move(s), announces};
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    generation = ++generation_;
    auto& latest = latest_[event.key];
    if (latest != 0) kept_.erase(latest);  // an older event of it still waiting is superseded
    latest = generation;
    // Behind what is kept (the order of one subscription's events), or while the transport
    // cannot take it.
    if (!kept_.empty() || !transport_.writable()) {
      keep(generation, std::move(event));
      return;
    }
  }
  send(generation, std::move(event));
}

void SubscriptionEvents::keep(std::uint64_t generation, Event event) {
  if (kept_.size() >= kMaxKept) {
    if (!dropping_) {
      dropping_ = true;
      spdlog::warn("subscription events: {} wait for the transport already; newer ones are dropped", kMaxKept);
    }
    if (auto it = latest_.find(event.key); it != latest_.end() && it->second == generation) latest_.erase(it);
    return;
  }
  if (kept_.empty()) {
    spdlog::info("subscription events wait for the transport (it does not take publishes now)");
  }
  kept_.emplace(generation, std::move(event));
}

void SubscriptionEvents::send(std::uint64_t generation, Event event) {
  auto update = std::make_shared<Update>();
  update->id = uuids_.next();
  update->topics.push_back(event.key);
  update->data = subscription_json(event.subscription, true);
  update->is_private = true;
  update->frame = make_sse_frame(*update);
  update->subscription = std::make_shared<const Subscription>(event.subscription);
  update->announces = event.announces;
  transport_.publish(std::move(update), [this, generation, event = std::move(event)](Result<void> r) mutable {
    std::lock_guard lock(mutex_);
    auto it = latest_.find(event.key);
    if (it == latest_.end() || it->second != generation) return;  // superseded meanwhile
    if (r) {
      if (!event.subscription.active) latest_.erase(it);  // the subscription's last event
      return;
    }
    spdlog::debug("subscription event {} not published ({}): kept for later", event.key, r.error().reason);
    keep(generation, std::move(event));
  });
}

void SubscriptionEvents::retry() {
  std::map<std::uint64_t, Event> batch;
  {
    std::lock_guard lock(mutex_);
    if (kept_.empty()) return;
    batch.swap(kept_);
    dropping_ = false;
  }
  spdlog::info("subscription events: publishing the {} that waited for the transport", batch.size());
  for (auto it = batch.begin(); it != batch.end(); ++it) {
    if (!transport_.writable()) {
      // Failing again: the rest waits for the next time (before anything kept meanwhile).
      std::lock_guard lock(mutex_);
      for (; it != batch.end(); ++it) kept_.insert(std::move(*it));
      return;
    }
    send(it->first, std::move(it->second));
  }
}

std::size_t SubscriptionEvents::kept() const {
  std::lock_guard lock(mutex_);
  return kept_.size();
}

}  // namespace mercure
