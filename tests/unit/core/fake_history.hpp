#pragma once
// An in-memory History and helpers for the HistoryReplay tests.

#include "core/history_replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace mercure::test {

// An in-memory history: events in seq order, like a store's snapshot.
class FakeHistory final : public History {
 public:
  struct Stored {
    std::uint64_t seq;
    std::string id;
    std::vector<std::string> topics;
    bool is_private;
    std::string frame;
  };

  std::uint64_t add(std::string id, std::vector<std::string> topics, bool is_private = false) {
    std::string frame = "id: " + id + "\ndata: x\n\n";
    events.push_back(Stored{++last_seq, std::move(id), std::move(topics), is_private, std::move(frame)});
    return last_seq;
  }

  Result<std::optional<std::uint64_t>> find(std::string_view id) override {
    for (const auto& e : events) {
      if (e.id == id) return std::optional<std::uint64_t>(e.seq);
    }
    return std::optional<std::uint64_t>();
  }

  Result<std::optional<std::string>> last_id() override {
    if (events.empty()) return std::optional<std::string>();
    return std::optional<std::string>(events.back().id);
  }

  Result<ScanResult> scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) override {
    ++scans;
    if (fail) return Error{Errc::unavailable, "disk on fire"};
    ScanResult r{after, true};
    std::size_t visited = 0;
    // By seq, not by position: `between_events` may trim the store during the scan (a store
    // read in several round trips, each its own snapshot).
    for (std::uint64_t cursor = after;;) {
      const auto it = std::find_if(events.begin(), events.end(), [&](const Stored& e) { return e.seq > cursor; });
      if (it == events.end()) return r;
      if (visited == max_events) {
        r.at_end = false;
        return r;
      }
      std::vector<std::string_view> topics(it->topics.begin(), it->topics.end());
      if (visited == 0 && it->seq > after + 1) r.trimmed_below = it->seq;  // as a store does
      ++visited;
      r.last_seq = cursor = it->seq;
      const bool go_on = visit(HistoryEvent{it->seq, it->id, topics, it->is_private, it->frame});
      if (!go_on) {
        r.at_end = cursor == last_seq;
        return r;
      }
      if (between_events) between_events();
    }
  }

  // Drops the oldest events until `keep` are left, as a store with `size` does.
  void trim_to(std::size_t keep) {
    if (events.size() > keep) events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(keep));
  }

  std::vector<Stored> events;
  std::uint64_t last_seq = 0;
  int scans = 0;
  bool fail = false;
  std::function<void()> between_events;
};

inline std::vector<SelectorPtr> sel(std::initializer_list<const char*> texts) {
  std::vector<SelectorPtr> out;
  for (const char* t : texts) out.push_back(TopicSelector::compile(t));
  return out;
}

inline UpdatePtr live(std::uint64_t seq, std::string id) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {"/a"};
  u->seq = seq;
  u->frame = "id: " + u->id + "\ndata: x\n\n";
  return u;
}

// Stores e<first>..e<last> on /a (their seqs must be next in `h`) and broadcasts them to `sub`.
inline void store_and_push(FakeHistory& h, Subscriber& sub, std::uint64_t first, std::uint64_t last) {
  for (std::uint64_t seq = first; seq <= last; ++seq) {
    const std::string id = "e" + std::to_string(seq);
    EXPECT_EQ(h.add(id, {"/a"}), seq);
    sub.push(live(seq, id));
  }
}

// One step of up to 100 events, in place (step()) or in two halves (read(), then apply()) as on
// a history whose reads block.
inline Result<bool> step_once(HistoryReplay& replay, History& h, Subscriber& sub, std::string& out, bool blocking) {
  if (!blocking) return replay.step(sub, out, 100, 1 << 20);
  return replay.apply(HistoryReplay::read(h, replay.cursor(), sub.filter(), 100, 1 << 20, [] { return true; }), sub,
                      out);
}

// Runs the replay to its end; returns the concatenated frames.
inline std::string drain(HistoryReplay& replay, Subscriber& sub, std::size_t max_events = 2,
                         std::size_t max_bytes = 1 << 20) {
  std::string out;
  for (int guard = 0; guard < 1000; ++guard) {
    auto at_end = replay.step(sub, out, max_events, max_bytes);
    EXPECT_TRUE(at_end.has_value());
    if (!at_end || *at_end) return out;
  }
  ADD_FAILURE() << "replay never reached the end";
  return out;
}

inline std::vector<std::string> pending_ids(Subscriber& s) {
  std::vector<UpdatePtr> out;
  s.take_pending(out);
  std::vector<std::string> ids;
  for (const auto& u : out) ids.push_back(u->id);
  return ids;
}

// The frames of events with these ids, as FakeHistory::add and live() make them.
inline std::string frames_of(std::initializer_list<const char*> ids) {
  std::string out;
  for (const char* id : ids) out += std::string("id: ") + id + "\ndata: x\n\n";
  return out;
}

}  // namespace mercure::test
