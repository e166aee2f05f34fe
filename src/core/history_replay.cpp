#include "core/history_replay.hpp"

namespace mercure {

namespace {
constexpr std::string_view kEarliest = "earliest";
}

HistoryReplay::HistoryReplay(History& history, std::string_view resume) : history_(history), resume_(resume) {}

Result<HistoryReplay::Start> HistoryReplay::begin() {
  Start start;
  start.response_last_event_id = std::string(kEarliest);
  if (resume_ == kEarliest) {
    cursor_ = 0;
    return start;
  }
  auto found = history_.find(resume_);
  if (!found) return found.error();
  if (!found->has_value()) {
    start.replay_nothing = true;
    return start;
  }
  cursor_ = **found;
  start.response_last_event_id = resume_;
  return start;
}

Result<bool> HistoryReplay::step(const Subscriber& sub, std::string& out, std::size_t max_events,
                                 std::size_t max_bytes) {
  auto scanned = history_.scan(cursor_, max_events, [&](const HistoryEvent& e) {
    if (sub.matches(e.topics, e.is_private)) {
      out.append(e.frame);
      ++sent_;
    }
    return out.size() < max_bytes;
  });
  if (!scanned) return scanned.error();
  cursor_ = scanned->last_seq;
  return scanned->at_end;
}

HistoryReplay::Batch HistoryReplay::read(History& history, std::uint64_t after, std::size_t max_events,
                                         std::size_t max_bytes) {
  Batch batch;
  std::size_t bytes = 0;
  batch.scanned = history.scan(after, max_events, [&](const HistoryEvent& e) {
    Batch::Event& copy = batch.events.emplace_back();
    copy.seq = e.seq;
    copy.topics.assign(e.topics.begin(), e.topics.end());
    copy.is_private = e.is_private;
    copy.frame = e.frame;
    bytes += e.frame.size();
    return bytes < max_bytes;
  });
  return batch;
}

Result<bool> HistoryReplay::apply(Batch& batch, const Subscriber& sub, std::string& out, std::size_t max_bytes) {
  if (!batch.scanned) return batch.scanned.error();
  std::vector<std::string_view> topics;
  while (!batch.used_up() && out.size() < max_bytes) {
    const Batch::Event& e = batch.events[batch.next++];
    topics.assign(e.topics.begin(), e.topics.end());
    if (sub.matches(topics, e.is_private)) {
      out.append(e.frame);
      ++sent_;
    }
    cursor_ = e.seq;
  }
  if (!batch.used_up()) return false;
  cursor_ = batch.scanned->last_seq;
  return batch.scanned->at_end;
}

}  // namespace mercure
