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
                                        const KeepGoing& keep_going, std::string& out, std::uint64_t& sent,
                                        std::vector<HistoryReplay::Sent>& marks) {
  bool stopped = false;
  std::uint64_t last = after;
  const std::size_t start = out.size();
  const History::Visitor visit = [&](const HistoryEvent& e) {
    if (!keep_going()) {
      stopped = true;
      return false;
    }
    last = e.seq;
    if (matches(e.topics, e.is_private)) {
      marks.push_back(HistoryReplay::Sent{e.seq, out.size() - start});
      out.append(e.frame);
      ++sent;
    }
    return out.size() < max_bytes;
  };
  std::optional<Result<History::ScanResult>> indexed;
  if (!topics.empty()) indexed = history.scan_topics(after, topics, max_events, visit);
  auto scanned = indexed ? std::move(*indexed) : history.scan(after, max_events, visit);
  if (stopped && scanned) {
    scanned->last_seq = last;
    scanned->at_end = false;
  }
  return scanned;
}

}  // namespace

Result<bool> HistoryReplay::step(Subscriber& sub, std::string& out, std::size_t max_events, std::size_t max_bytes) {
  if (held_) {
    if (must_hold(*held_->scanned)) return false;
    const Batch batch = std::move(*held_);
    held_.reset();
    return hand_over(batch, sub, out);
  }
  const auto matches = [&](std::span<const std::string_view> topics, bool is_private) {
    return sub.matches(topics, is_private);
  };
  const auto topics = exact_topics(sub.selectors());
  const std::size_t start = out.size();
  marks_.clear();
  std::uint64_t sent = 0;
  auto scanned = scan_frames(
      history_, cursor_, topics, max_events, max_bytes, matches, [] { return true; }, out, sent, marks_);
  if (!scanned) return scanned.error();
  if (must_hold(*scanned)) {  // rare: the frames move out of `out` until the gate opens
    held_.emplace(Batch{*scanned, out.substr(start), sent, marks_});
    out.resize(start);
    return false;
  }
  if (lost(*scanned, sub)) {
    out.resize(start);
    return lost_error();
  }
  sent_ += sent;
  settle(sub, cursor_, scanned->last_seq, marks_, out, start);
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
  batch.scanned = scan_frames(history, after, topics, max_events, max_bytes, matches, keep_going, batch.frames,
                              batch.sent, batch.marks);
  return batch;
}

Result<bool> HistoryReplay::apply(Batch batch, Subscriber& sub, std::string& out) {
  if (!batch.scanned) return batch.scanned.error();
  if (must_hold(*batch.scanned)) {
    held_.emplace(std::move(batch));
    return false;
  }
  return hand_over(batch, sub, out);
}

bool HistoryReplay::must_hold(const History::ScanResult& scanned) const {
  return gap_after_cursor(scanned) && gate_ && !gate_(scanned.trimmed_below);
}

bool HistoryReplay::gap_after_cursor(const History::ScanResult& scanned) const {
  return scanned.trimmed_below > cursor_ + 1;
}

// The events trimmed after the cursor went out from the buffer in their place (settle), but
// some may have been emptied out of it (a buffer overflow while replaying): they are nowhere
// now. The stream ends rather than skip them; the client's resume is then answered `earliest`.
bool HistoryReplay::lost(const History::ScanResult& scanned, const Subscriber& sub) const {
  return gap_after_cursor(scanned) && sub.may_have_dropped_between(cursor_, scanned.trimmed_below);
}

Error HistoryReplay::lost_error() {
  return Error{Errc::unavailable,
               "the subscriber fell behind: its buffer overflowed while the history trimmed updates not sent yet "
               "(raise the history size)",
               kFellBehind};
}

Result<bool> HistoryReplay::hand_over(const Batch& batch, Subscriber& sub, std::string& out) {
  if (lost(*batch.scanned, sub)) return lost_error();
  const std::size_t start = out.size();
  out.append(batch.frames);
  sent_ += batch.sent;
  settle(sub, cursor_, batch.scanned->last_seq, batch.marks, out, start);
  cursor_ = batch.scanned->last_seq;
  return batch.scanned->at_end;
}

// The buffered updates up to `last` were all committed before the step's read (a shard gets an
// update after the store has it), and each matches the subscriber, so the step sent each one
// still stored. One it did not send was trimmed before the read. It goes where its seq puts it
// among the step's frames; those already sent, or at or before the resume point, are dropped
// (go_live would drop them anyway).
void HistoryReplay::settle(Subscriber& sub, std::uint64_t after, std::uint64_t last, std::span<const Sent> marks,
                           std::string& out, std::size_t start) {
  if (!sub.has_pending()) return;
  thread_local std::vector<UpdatePtr> taken;
  taken.clear();
  sub.take_buffered_through(last, taken);
  std::string merged;
  bool inserted = false;
  std::size_t copied = start;  // out[start, copied) is in `merged`
  std::size_t m = 0;
  for (const auto& u : taken) {
    if (u->seq <= after) continue;
    while (m < marks.size() && marks[m].seq < u->seq) ++m;
    if (m < marks.size() && marks[m].seq == u->seq) continue;  // sent from the store
    const std::size_t at = m < marks.size() ? start + marks[m].offset : out.size();
    merged.append(out, copied, at - copied);
    copied = at;
    merged.append(u->frame);
    inserted = true;
    ++sent_;
  }
  taken.clear();
  if (!inserted) return;
  merged.append(out, copied);
  out.resize(start);
  out.append(merged);
}

}  // namespace mercure
