#pragma once
// Shared between the forked processes: an anonymous MAP_SHARED mapping made before fork (the
// start signal and the phases, the published counts, one result per process), and the window
// each process learns from it.

#include <atomic>
#include <climits>
#include <cstdint>

#include "../http_client.hpp"

namespace bench::sse_load {

constexpr std::int64_t kSecond = 1'000'000'000;

enum Phase : int { kConnecting = 0, kPublishing = 1, kDraining = 2, kExit = 3, kAbort = 4 };

struct Control {
  std::atomic<int> ready{0};   // processes whose subscribers all stream
  std::atomic<int> failed{0};  // processes that could not connect all of theirs
  std::atomic<int> phase{kConnecting};
  std::atomic<int> finished{0};  // processes whose results are written
  std::atomic<std::int64_t> start_ns{0}, measure_from_ns{0}, end_ns{0}, drain_deadline_ns{0};
};

struct ProcResult {
  std::int64_t subscribers = 0, connected = 0, connect_failures = 0, bad_status = 0, disconnects = 0,
               protocol_errors = 0, delivered = 0, delivered_window = 0, duplicated = 0, reordered = 0, missing = 0,
               wrong_topic = 0, bad_payload = 0, expected = 0, first_send_ns = 0, last_recv_ns = 0, max_latency_ns = 0,
               cpu_window_ns = 0, connect_done_ns = 0, comments = 0;
  int first_bad_status = 0;
  bench::Histogram e2e;
};

struct Shared {
  Control* control = nullptr;
  ProcResult* results = nullptr;       // one per process
  std::uint32_t* published = nullptr;  // [publisher * topics + topic]: updates sent so far
};

/** The mapping for `procs` processes, made before fork (and kept until exit). */
Shared map_shared(int procs, int publishers, int topics);

/** The measured window as one process knows it: [measure_from, end), in CLOCK_MONOTONIC ns. */
struct Window {
  bool known = false;
  std::int64_t measure_from = LLONG_MAX, end = LLONG_MAX;

  /** The window, once process 0 has started publishing (an update may arrive before the loop sees it). */
  void learn(const Control& ctl) {
    if (ctl.phase.load(std::memory_order_acquire) < kPublishing) return;
    known = true;
    measure_from = ctl.measure_from_ns.load(std::memory_order_relaxed);
    end = ctl.end_ns.load(std::memory_order_relaxed);
  }
};

}  // namespace bench::sse_load
