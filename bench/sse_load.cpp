// EventSource load generator (issue 6): thousands of SSE subscribers and keep-alive publishers
// against a Mercure hub or nginx + nchan, on one machine (loopback, CLOCK_MONOTONIC).
//
//   bench_sse_load --port P [--target mercure|nchan] [--token JWT] [--subscribers 1000]
//                  [--topics 1] [--publishers 1] [--rate 100 | --rate 0] [--messages N]
//                  [--pick round-robin|random] [--warmup 1] [--duration 10] [--drain 5]
//                  [--data-bytes 100] [--procs K] [--src-addrs K] [--server-pid PID]...
//                  [--publishers-apart] [--idle S] [--label TEXT] [--json]
//                  [--selector-prefix TEXT] [--selector-suffix TEXT] [--topic-suffix TEXT]
//                  [--extra-selector TEXT]
//
// Subscriber i (0 <= i < subscribers) listens to topic i % topics: for mercure
// GET /.well-known/mercure?topic=<selector-prefix, default topic-prefix><t><selector-suffix>
// [&topic=<extra-selector>]
// (publishers send topic <topic-prefix><t><topic-suffix>: with a suffix such as `{/kind}` and
// `/update`, every subscriber holds a URI template of its own), for nchan GET <sub-path><channel-prefix><t>
// (default /sub/b<t>), both with `Accept: text/event-stream`; the stream may be chunked or not
// and is parsed incrementally (a 64-byte line buffer per connection). Publishers are keep-alive
// connections with at most one POST in flight each (mercure: form topic/data with a Bearer
// token; nchan: POST <pub-path><channel-prefix><t>, default /pub/b<t>, with the data as body).
// --rate R > 0 publishes R updates/s in total (open loop; an update waits for a free publisher
// connection, lateness is reported); --rate 0 keeps every publisher busy (closed loop).
// --messages N publishes exactly N updates as fast as allowed, then measures until they are all
// delivered (e.g. one broadcast to every idle subscriber).
//
// Each payload is "<publisher> <topic> <sequence> <send time ns> xxx...": the sequence counts the
// updates of one publisher connection to one topic, so every subscriber checks, per publisher,
// delivered against published, missing, duplicated and reordered events (reordering is only
// defined within one publisher connection, whose POSTs are sequential).
//
// Timeline: all subscribers connect (their response head received), the publishers start;
// after --warmup seconds the --duration window is measured: delivered/s and server CPU count
// what happens in the window, end-to-end latency counts updates sent in it. Then publishing
// stops and subscribers have --drain seconds to receive everything that was published.
//
// SIGTERM or SIGINT ends the window early: publishing stops, the subscribers drain, the report
// is printed as usual (e.g. a publisher in the background of a longer test).
//
// --idle S keeps every subscriber connected and idle for S seconds before publishing starts (the
// hub's heartbeats go on meanwhile; comment lines received are counted and reported).
// --publishers-apart runs the publishers in a process of their own (with no subscriber), so
// that POST latency is not the time this generator takes to read a fan-out.
//
// Several processes (--procs, default: one per 18,000 subscribers; each process is under the
// open-file limit) share the subscribers; they are forked from this one, share an anonymous
// mapping for the start signal, the published counts and their results, and this process prints
// one merged report. --server-pid (repeatable: the hub, or nginx's worker) reads server CPU
// (/proc/<pid>/task/*/schedstat) and RSS (/proc/<pid>/status); machine busy % is /proc/stat.
// Exit status 0 when every subscriber connected and nothing was missing, duplicated, reordered
// or misrouted, and every POST succeeded.
//
// The parts, in bench/sse_load/: options (the command line), shared (what the processes share),
// proc (one process's loop, and process 0's lead), subscribers and event_checks (the EventSource
// clients and the checks of what they receive), publishers, proc_readings (/proc), report (the
// merged results, as text or one JSON line).

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "sse_load/options.hpp"
#include "sse_load/proc.hpp"
#include "sse_load/proc_readings.hpp"
#include "sse_load/report.hpp"
#include "sse_load/shared.hpp"

namespace bench::sse_load {

volatile sig_atomic_t stop_requested = 0;  // SIGTERM or SIGINT: stop publishing, drain, report

}  // namespace bench::sse_load

using bench::die;
using bench::now_ns;
using namespace bench::sse_load;

namespace {

void on_stop_signal(int) {
  stop_requested = 1;
}

}  // namespace

int main(int argc, char** argv) {
  bench::program_name = "bench_sse_load";
  Options o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  const long fd_room = static_cast<long>(rl.rlim_cur) - o.publishers - 64;

  int procs = o.procs > 0 ? o.procs : std::max(1, (o.subscribers + 17'999) / 18'000);
  procs = std::min(procs, std::max(o.subscribers, 1));
  const int sub_procs = procs;
  // --publishers-apart: process 0 only publishes; the subscribers are shared by the others.
  const bool apart = o.publishers_apart && o.publishers > 0 && o.subscribers > 0;
  if (apart) ++procs;
  if ((o.subscribers + sub_procs - 1) / sub_procs > fd_room)
    die("too many subscribers per process for the open-file limit (" + std::to_string(rl.rlim_cur) +
        "): use more --procs");
  const int src_count = o.src_addrs > 0 ? o.src_addrs : std::max(1, (o.subscribers + 19'999) / 20'000);

  ServerSamples sv;
  sv.rss_base = server_rss_kib(o.server_pids);
  Shared sh = map_shared(procs, o.publishers, o.topics);
  const std::int64_t t0 = now_ns();
  auto range = [&](int i) {
    if (!apart) return static_cast<int>(static_cast<long long>(o.subscribers) * i / procs);
    return i == 0 ? 0 : static_cast<int>(static_cast<long long>(o.subscribers) * (i - 1) / sub_procs);
  };

  std::vector<pid_t> children;
  const pid_t parent = getpid();
  for (int i = 1; i < procs; ++i) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) die("fork: " + std::string(strerror(errno)));
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(3);
      Proc proc(o, sh, i, procs, range(i), range(i + 1), src_count);
      proc.run();
      _exit(0);
    }
    children.push_back(pid);
  }

  Proc lead(o, sh, 0, procs, range(0), range(1), src_count);
  double connect_s = 0;
  lead.on_all_connected = [&] {
    connect_s = static_cast<double>(now_ns() - t0) / 1e9;
    sv.rss_connected = server_rss_kib(o.server_pids);
  };
  lead.on_window_edge = [&](bool end) {
    if (!end) {
      sv.t_from = now_ns();
      sv.cpu_from = server_cpu_ns(o.server_pids);
      sv.machine_from = machine_times();
    } else {
      sv.t_end = now_ns();
      sv.cpu_end = server_cpu_ns(o.server_pids);
      sv.machine_end = machine_times();
    }
  };
  lead.run();

  Control& ctl = *sh.control;
  const bool aborted = ctl.phase.load() == kAbort;
  if (sv.t_end == 0 && sv.t_from != 0) {  // --messages: the window ends when everything arrived
    sv.t_end = now_ns();
    sv.cpu_end = server_cpu_ns(o.server_pids);
    sv.machine_end = machine_times();
  }
  sv.rss_end = server_rss_kib(o.server_pids);
  ctl.phase.store(aborted ? kAbort : kExit, std::memory_order_release);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
  }

  const ProcResult total = merge_results(sh.results, procs);
  if (total.first_bad_status != 0)
    std::fprintf(stderr, "bench_sse_load: %" PRId64 " subscribe responses with a non-200 status (first: %d)\n",
                 total.bad_status, total.first_bad_status);

  double window_s = static_cast<double>(sv.t_end - sv.t_from) / 1e9;
  if (o.messages > 0 && total.last_recv_ns > 0 && sh.results[0].first_send_ns > 0) {
    // One burst: the window is from the first POST to the last delivery.
    window_s = static_cast<double>(total.last_recv_ns - sh.results[0].first_send_ns) / 1e9;
  }
  if (window_s < 0) window_s = 0;
  const bool ok = !aborted && total.connected == o.subscribers && total.missing == 0 && total.duplicated == 0 &&
                  total.reordered == 0 && total.wrong_topic == 0 && total.bad_payload == 0 && total.disconnects == 0 &&
                  total.protocol_errors == 0 && lead.published().post_errors == 0 &&
                  (o.publishers == 0 || lead.published().post_ok > 0);
  const int code = ok ? 0 : 1;
  print_report(o, lead.published(), total, sv, procs, src_count, window_s, connect_s, code);
  return code;
}
