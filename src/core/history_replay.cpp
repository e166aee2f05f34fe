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

}  // namespace mercure
