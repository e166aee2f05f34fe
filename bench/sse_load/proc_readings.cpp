#include "proc_readings.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "shared.hpp"

namespace bench::sse_load {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::int64_t process_cpu_ns(int pid) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::int64_t total = 0;
  bool any = false;
  if (DIR* d = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string s = read_file(task_dir + "/" + e->d_name + "/schedstat");
      if (s.empty()) continue;
      total += std::strtoll(s.c_str(), nullptr, 10);
      any = true;
    }
    closedir(d);
  }
  if (any) return total;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(close_paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 0; in >> field; ++i) {  // i = 0 is field 3 (state); utime is field 14, stime 15
    if (i == 11) utime = std::stoll(field);
    if (i == 12) {
      stime = std::stoll(field);
      break;
    }
  }
  return (utime + stime) * (kSecond / sysconf(_SC_CLK_TCK));
}

std::int64_t server_cpu_ns(const std::vector<int>& pids) {
  std::int64_t total = 0;
  for (int pid : pids) total += process_cpu_ns(pid);
  return total;
}

std::int64_t server_rss_kib(const std::vector<int>& pids) {
  std::int64_t total = 0;
  for (int pid : pids) {
    std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    auto at = status.find("VmRSS:");
    if (at != std::string::npos) total += std::strtoll(status.c_str() + at + 6, nullptr, 10);
  }
  return total;
}

MachineTimes machine_times() {
  std::istringstream in(read_file("/proc/stat"));
  std::string cpu;
  in >> cpu;
  MachineTimes t;
  long long v = 0;
  for (int i = 0; i < 8 && in >> v; ++i) {
    t.total += v;
    if (i != 3 && i != 4) t.busy += v;  // idle and iowait are not busy
  }
  return t;
}

std::int64_t self_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) { return static_cast<std::int64_t>(tv.tv_sec) * kSecond + tv.tv_usec * 1000; };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

}  // namespace bench::sse_load
