#include "core/history_replay.hpp"

#include <optional>
#include <vector>

namespace mercure {

namespace {
constexpr std::string_view kEarliest = "earliest";
// A subscription with more exact topics than this scans the history (one index cursor each).
constexpr std::size_t kMaxIndexedTopics = 64;

// The subscribed topics when every selector is an exact topic (few enough): the history's topic
// index can then find the candidates. Empty otherwise (a template or `*` needs every event).
std::vector<std::string_view> exact_topics(const std::vector<SelectorPtr>& selectors) {
  std::vector<std::string_view> topics;
  if (selectors.size() > kMaxIndexedTopics) return topics;
  for (const auto& s : selectors) {
    if (!s->is_exact()) return {};
    topics.push_back(s->text());
  }
  return topics;
}
}  // namespace

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

namespace {

// Scans the events after `after`, appending the frames `matches` lets through to `out` (counted
// in `sent`) until `out` holds `max_bytes` or `max_events` were visited; when `keep_going` says
// no before an event, the scan ends before it (not at the end). With `topics` (the subscriber's
// exact topics), only the events the history's topic index lists for them are visited.
template <class Matches, class KeepGoing>
Result<History::ScanResult> scan_frames(History& history, std::uint64_t after, std::span<const std::string_view> topics,
                                        std::size_t max_events, std::size_t max_bytes, const Matches& matches,
                                        const KeepGoing& keep_going, std::string& out, std::uint64_t& sent) {
  bool stopped = false;
  std::uint64_t last = after;
  const History::Visitor visit = [&](const HistoryEvent& e) {
    if (!keep_going()) {
      stopped = true;
      return false;
    }
    last = e.seq;
    if (matches(e.topics, e.is_private)) {
      out.append(e.frame);
      ++sent;
    }
    return out.size() < max_bytes;
  };
  std::optional<Result<History::ScanResult>> indexed;
  if (!topics.empty()) indexed = history.scan_topics(after, topics, max_events, visit);
  auto scanned = indexed ? std::move(*indexed) : history.scan(after, max_events, visit);
  if (stopped && scanned) return History::ScanResult{last, false};
  return scanned;
}

}  // namespace

Result<bool> HistoryReplay::step(const Subscriber& sub, std::string& out, std::size_t max_events,
                                 std::size_t max_bytes) {
  const auto matches = [&](std::span<const std::string_view> topics, bool is_private) {
    return sub.matches(topics, is_private);
  };
  const auto topics = exact_topics(sub.selectors());
  auto scanned = scan_frames(
      history_, cursor_, topics, max_events, max_bytes, matches, [] { return true; }, out, sent_);
  if (!scanned) return scanned.error();
  cursor_ = scanned->last_seq;
  return scanned->at_end;
}

HistoryReplay::Batch HistoryReplay::read(History& history, std::uint64_t after, const TopicFilter& filter,
                                         std::size_t max_events, std::size_t max_bytes,
                                         const std::function<bool()>& keep_going) {
  Batch batch;
  const auto matches = [&](std::span<const std::string_view> topics, bool is_private) {
    return filter.matches(topics, is_private);
  };
  const auto topics = exact_topics(filter.selectors);
  batch.scanned =
      scan_frames(history, after, topics, max_events, max_bytes, matches, keep_going, batch.frames, batch.sent);
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
