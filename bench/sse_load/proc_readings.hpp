#pragma once
// /proc readings: the server's CPU time and RSS, the machine's busy time, this process's CPU.

#include <cstdint>
#include <vector>

namespace bench::sse_load {

/** CPU time (ns) of every thread of `pid`, from schedstat, or from stat (clock ticks). */
std::int64_t process_cpu_ns(int pid);

std::int64_t server_cpu_ns(const std::vector<int>& pids);

std::int64_t server_rss_kib(const std::vector<int>& pids);

struct MachineTimes {
  std::int64_t busy = 0, total = 0;
};

MachineTimes machine_times();

std::int64_t self_cpu_ns();

}  // namespace bench::sse_load
