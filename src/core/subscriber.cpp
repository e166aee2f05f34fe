#include "core/subscriber.hpp"

#include <algorithm>

namespace mercure {

Subscriber::Subscriber(std::vector<SelectorPtr> selectors, std::optional<std::vector<SelectorPtr>> allowed_private,
                       OutboxLimits limits)
    : selectors_(std::move(selectors)), allowed_private_(std::move(allowed_private)), limits_(limits) {
  has_pattern_ = std::any_of(selectors_.begin(), selectors_.end(), [](const SelectorPtr& s) { return !s->is_exact(); });
}

namespace {
bool any_topic_matches(const std::vector<SelectorPtr>& selectors, const Update& u) {
  for (const auto& topic : u.topics) {
    for (const auto& s : selectors) {
      if (s->matches(topic)) return true;
    }
  }
  return false;
}
}  // namespace

bool Subscriber::may_see(const Update& u) const {
  if (!u.is_private) return true;
  return allowed_private_.has_value() && any_topic_matches(*allowed_private_, u);
}

bool Subscriber::matches(const Update& u) const {
  return any_topic_matches(selectors_, u) && may_see(u);
}

void Subscriber::push(UpdatePtr u) {
  if (overflowed_) return;
  pending_bytes_ += u->frame.size();
  outbox_.push_back(std::move(u));
  if (outbox_.size() > limits_.max_updates || pending_bytes_ > limits_.max_bytes) {
    overflowed_ = true;
    outbox_.clear();
    outbox_.shrink_to_fit();
    pending_bytes_ = 0;
  }
  wake();
}

void Subscriber::take_pending(std::vector<UpdatePtr>& out) {
  out.swap(outbox_);
  pending_bytes_ = 0;
}

}  // namespace mercure
