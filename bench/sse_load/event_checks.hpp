#pragma once
// The checks of every event a subscriber receives. Each payload is "<publisher> <topic>
// <sequence> <send time ns> xxx...": the sequence counts the updates of one publisher connection
// to one topic, so the sequences received, per publisher, against the counts published give the
// delivered, missing, duplicated and reordered updates; the send time gives the end-to-end
// latency of the updates sent in the window.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "shared.hpp"

namespace bench::sse_load {

struct Gap {
  std::uint32_t publisher, lo, hi;  // [lo, hi) not received yet
};

constexpr std::size_t kMaxGaps = 32;

struct Sub;  // subscribers.hpp

class EventChecks {
 public:
  EventChecks(const Options& o, Shared shared, ProcResult& res, Window& window, std::size_t subs);

  /** The value of a `data:` line received by subscriber `k` (of this process) at `now`. */
  void on_data(Sub& s, std::uint32_t k, std::string_view v, std::int64_t now);

  /** Updates published to this process's subscribers' topics and not received yet. */
  std::int64_t outstanding(const std::vector<Sub>& subs) const;

  /** At the end: the updates expected by these subscribers, and those missing, into the result. */
  void tally(const std::vector<Sub>& subs);

 private:
  static bool parse_u64(std::string_view& v, std::uint64_t& out);
  static bool fill_gap(Sub& s, std::uint32_t p, std::uint32_t q);

  const Options& o_;
  Shared sh_;
  const Control& ctl_;
  ProcResult* res_;
  Window& window_;
  std::size_t pubs_per_ = 1;
  std::vector<std::uint32_t> next_;  // [sub * publishers + publisher]: the next expected sequence
};

}  // namespace bench::sse_load
