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

HistoryReplay::Batch HistoryReplay::read(History& history, std::uint64_t after, const TopicFilter& filter,
                                         std::size_t max_events, std::size_t max_bytes,
                                         const std::function<bool()>& keep_going) {
  Batch batch;
  bool stopped = false;
  std::uint64_t last = after;
  batch.scanned = history.scan(after, max_events, [&](const HistoryEvent& e) {
    if (!keep_going()) {
      stopped = true;  // this event is not dealt with: the batch ends before it
      return false;
    }
    last = e.seq;
    if (filter.matches(e.topics, e.is_private)) {
      batch.frames.append(e.frame);
      ++batch.sent;
    }
    return batch.frames.size() < max_bytes;
  });
  if (stopped && batch.scanned) batch.scanned = History::ScanResult{last, false};
  return batch;
}

Result<bool> HistoryReplay::apply(const Batch& batch, std::string& out) {
  if (!batch.scanned) return batch.scanned.error();
  out.append(batch.frames);
  sent_ += batch.sent;
  cursor_ = batch.scanned->last_seq;
  return batch.scanned->at_end;
}

}  // namespace mercure
