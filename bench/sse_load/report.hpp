#pragma once
// The report: every process's results merged, and the figures printed as text or as one JSON
// line (--json).

#include <cstdint>

#include "options.hpp"
#include "proc_readings.hpp"
#include "publishers.hpp"
#include "shared.hpp"

namespace bench::sse_load {

struct ServerSamples {
  std::int64_t rss_base = 0, rss_connected = 0, rss_end = 0, cpu_from = 0, cpu_end = 0, t_from = 0, t_end = 0;
  MachineTimes machine_from, machine_end;
};

/** The results of the `procs` processes added up (latencies merged, maxima kept). */
ProcResult merge_results(const ProcResult* results, int procs);

void print_report(const Options& o, const PublishFigures& pub, const ProcResult& r, const ServerSamples& sv, int procs,
                  int src_count, double window_s, double connect_s, int exit_code);

}  // namespace bench::sse_load
