#include "core/subscriber.hpp"

#include <algorithm>

namespace mercure {

Subscriber::Subscriber(std::vector<SelectorPtr> selectors, std::optional<std::vector<SelectorPtr>> allowed_private,
                       OutboxLimits limits)
    : selectors_(std::move(selectors)), allowed_private_(std::move(allowed_private)), limits_(limits) {}

namespace {
bool any_topic_matches(const std::vector<SelectorPtr>& selectors, const Update& u) {
  for (const auto& topic : u.topics) {
    for (const auto& s : selectors) {
      if (s->matches(topic)) return true;
    }
  }
  return false;
}
bool any_view_matches(const std::vector<SelectorPtr>& selectors, std::span<const std::string_view> topics) {
  for (const auto topic : topics) {
    for (const auto& s : selectors) {
      if (s->matches(topic)) return true;
    }
  }
  return false;
}

bool views_match(const std::vector<SelectorPtr>& selectors,
                 const std::optional<std::vector<SelectorPtr>>& allowed_private,
                 std::span<const std::string_view> topics, bool is_private) {
  if (!any_view_matches(selectors, topics)) return false;
  return !is_private || (allowed_private.has_value() && any_view_matches(*allowed_private, topics));
}
}  // namespace

bool Subscriber::matches(std::span<const std::string_view> topics, bool is_private) const {
  return views_match(selectors_, allowed_private_, topics, is_private);
}

bool TopicFilter::matches(std::span<const std::string_view> topics, bool is_private) const {
  return views_match(selectors, allowed_private, topics, is_private);
}

bool Subscriber::may_see(const Update& u) const {
  if (!u.is_private) return true;
  if (u.announces != 0 && u.announces == announcement_tag_) return false;  // its own connect event
  return allowed_private_.has_value() && any_topic_matches(*allowed_private_, u);
}

bool Subscriber::matches(const Update& u) const {
  return any_topic_matches(selectors_, u) && may_see(u);
}

void Subscriber::push(UpdatePtr u) {
  if (overflowed_ || (replayed_up_to_ != 0 && u->seq <= replayed_up_to_)) return;
  pending_bytes_ += u->frame.size();
  outbox_.push_back(std::move(u));
  if (outbox_.size() > limits_.max_updates || pending_bytes_ > limits_.max_bytes) {
    if (replaying_) {
      for (const auto& dropped : outbox_) {
        dropped_lowest_ = std::min(dropped_lowest_, dropped->seq);
        dropped_highest_ = std::max(dropped_highest_, dropped->seq);
      }
      outbox_.clear();
      pending_bytes_ = 0;
      ++replay_drops_;
      return;  // the replay reads them from the history; nothing to wake for
    }
    overflowed_ = true;
    outbox_.clear();
    outbox_.shrink_to_fit();
    pending_bytes_ = 0;
  }
  wake();
}

void Subscriber::go_live(std::uint64_t replayed_up_to) {
  replaying_ = false;
  replayed_up_to_ = replayed_up_to;
  auto first_new = std::find_if(outbox_.begin(), outbox_.end(),
                                [replayed_up_to](const UpdatePtr& u) { return u->seq > replayed_up_to; });
  outbox_.erase(outbox_.begin(), first_new);
  pending_bytes_ = 0;
  for (const auto& u : outbox_) pending_bytes_ += u->frame.size();
}

void Subscriber::take_buffered_through(std::uint64_t seq, std::vector<UpdatePtr>& out) {
  auto end = std::find_if(outbox_.begin(), outbox_.end(), [seq](const UpdatePtr& u) { return u->seq > seq; });
  for (auto it = outbox_.begin(); it != end; ++it) {
    pending_bytes_ -= (*it)->frame.size();
    out.push_back(std::move(*it));
  }
  outbox_.erase(outbox_.begin(), end);
}

void Subscriber::take_pending(std::vector<UpdatePtr>& out) {
  out.swap(outbox_);
  pending_bytes_ = 0;
}

}  // namespace mercure
