// EventSource load generator (issue 6): thousands of SSE subscribers and keep-alive publishers
// against a Mercure hub or nginx + nchan, on one machine (loopback, CLOCK_MONOTONIC).
//
//   bench_sse_load --port P [--target mercure|nchan] [--token JWT] [--subscribers 1000]
//                  [--topics 1] [--publishers 1] [--rate 100 | --rate 0] [--messages N]
//                  [--pick round-robin|random] [--warmup 1] [--duration 10] [--drain 5]
//                  [--data-bytes 100] [--procs K] [--src-addrs K] [--server-pid PID]...
//                  [--publishers-apart] [--idle S] [--label TEXT] [--json]
//
// Subscriber i (0 <= i < subscribers) listens to topic i % topics: for mercure
// GET /.well-known/mercure?topic=<topic-prefix><t>, for nchan GET <sub-path><channel-prefix><t>
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

#include <dirent.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <climits>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <sstream>
#include <vector>

#include "http_client.hpp"

namespace {

using bench::die;
using bench::now_ns;

constexpr std::int64_t kSecond = 1'000'000'000;

volatile sig_atomic_t stop_requested = 0;  // SIGTERM or SIGINT: stop publishing, drain, report
void on_stop_signal(int) {
  stop_requested = 1;
}

struct Options {
  bool nchan = false;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  std::string sub_token;
  std::string topic_prefix = "https://example.com/bench/";
  std::string channel_prefix = "b";
  std::string sub_path = "/sub/";
  std::string pub_path = "/pub/";
  int subscribers = 100;
  int topics = 1;
  int publishers = 1;
  bool publishers_apart = false;
  double idle = 0;  // seconds every subscriber stays connected and idle before publishing starts
  double rate = 100;
  long long messages = 0;
  bool random_pick = false;
  double warmup = 1;
  double duration = 10;
  double drain = 5;
  double connect_timeout = 120;
  std::size_t data_bytes = 100;
  int procs = 0;
  int src_addrs = 0;
  int connect_concurrency = 512;
  std::vector<int> server_pids;
  std::string label;
  bool json = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + std::string(a));
      return argv[++i];
    };
    try {
      if (a == "--target") {
        auto t = value();
        if (t != "mercure" && t != "nchan") die("--target is mercure or nchan");
        o.nchan = t == "nchan";
      } else if (a == "--host") {
        o.host = value();
      } else if (a == "--port") {
        o.port = std::stoi(value());
      } else if (a == "--token") {
        o.token = value();
      } else if (a == "--sub-token") {
        o.sub_token = value();
      } else if (a == "--topic-prefix") {
        o.topic_prefix = value();
      } else if (a == "--channel-prefix") {
        o.channel_prefix = value();
      } else if (a == "--sub-path") {
        o.sub_path = value();
      } else if (a == "--pub-path") {
        o.pub_path = value();
      } else if (a == "--subscribers") {
        o.subscribers = std::stoi(value());
      } else if (a == "--topics") {
        o.topics = std::stoi(value());
      } else if (a == "--publishers") {
        o.publishers = std::stoi(value());
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--messages") {
        o.messages = std::stoll(value());
      } else if (a == "--pick") {
        auto p = value();
        if (p != "random" && p != "round-robin") die("--pick is random or round-robin");
        o.random_pick = p == "random";
      } else if (a == "--warmup") {
        o.warmup = std::stod(value());
      } else if (a == "--duration") {
        o.duration = std::stod(value());
      } else if (a == "--drain") {
        o.drain = std::stod(value());
      } else if (a == "--connect-timeout") {
        o.connect_timeout = std::stod(value());
      } else if (a == "--data-bytes") {
        o.data_bytes = std::stoul(value());
      } else if (a == "--procs") {
        o.procs = std::stoi(value());
      } else if (a == "--src-addrs") {
        o.src_addrs = std::stoi(value());
      } else if (a == "--connect-concurrency") {
        o.connect_concurrency = std::stoi(value());
      } else if (a == "--server-pid") {
        o.server_pids.push_back(std::stoi(value()));
      } else if (a == "--label") {
        o.label = value();
      } else if (a == "--idle") {
        o.idle = std::stod(value());
      } else if (a == "--publishers-apart") {
        o.publishers_apart = true;
      } else if (a == "--json") {
        o.json = true;
      } else {
        die("unknown option " + std::string(a));
      }
    } catch (const std::logic_error&) {
      die("bad value for " + std::string(a));
    }
  }
  if (o.port <= 0) die("--port is required");
  if (!o.nchan && o.token.empty() && o.publishers > 0) die("--token (a publisher JWT) is required for mercure");
  if (o.subscribers < 0 || o.topics <= 0 || o.publishers < 0 || o.rate < 0 || o.messages < 0)
    die("counts and rates must not be negative");
  if (o.publishers == 0 && o.subscribers == 0) die("nothing to do");
  if (o.connect_concurrency <= 0) o.connect_concurrency = 1;
  if (o.src_addrs < 0 || o.src_addrs > 250) die("--src-addrs is 0 (auto) to 250");
  if (o.data_bytes > 1 << 20) die("--data-bytes is at most 1 MiB");
  if (o.messages > 0) o.warmup = 0;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Shared between the forked processes: an anonymous MAP_SHARED mapping made before fork.

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

Shared map_shared(int procs, int publishers, int topics) {
  auto align = [](std::size_t n) { return (n + 63) & ~std::size_t{63}; };
  const std::size_t control = align(sizeof(Control));
  const std::size_t results = align(sizeof(ProcResult) * static_cast<std::size_t>(procs));
  const std::size_t published = align(sizeof(std::uint32_t) * static_cast<std::size_t>(std::max(publishers, 1)) *
                                      static_cast<std::size_t>(topics));
  void* p = mmap(nullptr, control + results + published, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap: " + std::string(strerror(errno)));
  auto* base = static_cast<char*>(p);
  Shared s;
  s.control = new (base) Control();
  s.results = reinterpret_cast<ProcResult*>(base + control);
  for (int i = 0; i < procs; ++i) new (s.results + i) ProcResult();
  s.published = reinterpret_cast<std::uint32_t*>(base + control + results);  // zero-filled by mmap
  return s;
}

// ---------------------------------------------------------------------------------------------
// /proc readings.

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/** CPU time (ns) of every thread of `pid`, from schedstat, or from stat (clock ticks). */
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

struct MachineTimes {
  std::int64_t busy = 0, total = 0;
};

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

// ---------------------------------------------------------------------------------------------
// One process: its share of the subscribers and, in process 0, the publishers.

enum SubState : std::uint8_t { kIdle, kTcpConnecting, kRequesting, kHead, kStreaming, kClosed };
enum ChunkState : std::uint8_t { kChunkSize, kChunkExt, kChunkData, kChunkDataEnd };

struct Gap {
  std::uint32_t publisher, lo, hi;  // [lo, hi) not received yet
};

struct Sub {
  int fd = -1;
  std::uint32_t topic = 0;
  std::uint32_t chunk_left = 0;
  std::uint16_t sent = 0;  // request bytes written
  SubState state = kIdle;
  ChunkState chunk_state = kChunkSize;
  std::uint8_t line_len = 0;
  std::uint8_t attempts = 0;
  bool chunked = false;
  bool status_seen = false;
  char line[64];
  std::unique_ptr<std::vector<Gap>> gaps;  // allocated only when an update is skipped
};

struct Pub {
  int fd = -1;
  std::string out;
  std::size_t written = 0;
  std::string in;
  std::int64_t sent_ns = 0;
  bool busy = false;
};

constexpr std::size_t kMaxGaps = 32;
constexpr std::uint64_t kPubTag = std::uint64_t{1} << 32;

class Proc {
 public:
  Proc(const Options& o, Shared shared, int index, int procs, int first_sub, int last_sub)
      : o_(o), sh_(shared), ctl_(*shared.control), index_(index), procs_(procs), first_(first_sub) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1: " + std::string(strerror(errno)));
    dst_ = bench::ipv4_address(o_.host, o_.port);
    subs_.resize(static_cast<std::size_t>(last_sub - first_sub));
    pubs_per_ = static_cast<std::size_t>(std::max(o_.publishers, 1));
    next_.assign(subs_.size() * pubs_per_, 0);
    for (std::size_t k = 0; k < subs_.size(); ++k) {
      subs_[k].topic = static_cast<std::uint32_t>((first_ + static_cast<int>(k)) % o_.topics);
      pending_.push_back(static_cast<std::uint32_t>(subs_.size() - 1 - k));  // popped from the back: in order
    }
    res_ = &sh_.results[index_];
    res_->subscribers = static_cast<std::int64_t>(subs_.size());
    if (index_ == 0) {
      pubs_.resize(static_cast<std::size_t>(o_.publishers));
      rng_ ^= static_cast<std::uint64_t>(now_ns());
    }
  }

  /** Runs until the results are written (and, in process 0, until every process finished). */
  void run() {
    const std::int64_t connect_deadline = now_ns() + static_cast<std::int64_t>(o_.connect_timeout * kSecond);
    std::vector<epoll_event> events(512);
    std::int64_t next_drain_check = 0;
    for (;;) {
      std::int64_t now = now_ns();
      const int phase = ctl_.phase.load(std::memory_order_acquire);
      if (phase == kAbort) {
        finish(now);
        return;
      }
      start_connects();
      if (!ready_reported_ && connecting_ == 0 && pending_.empty()) {
        ready_reported_ = true;
        res_->connect_done_ns = now;
        if (res_->connected == res_->subscribers)
          ctl_.ready.fetch_add(1, std::memory_order_acq_rel);
        else
          ctl_.failed.fetch_add(1, std::memory_order_acq_rel);
      }
      if (!ready_reported_ && now > connect_deadline) {
        std::fprintf(stderr, "bench_sse_load: process %d: %zu subscribers still connecting after %.0f s\n", index_,
                     connecting_ + pending_.size(), o_.connect_timeout);
        ready_reported_ = true;
        ctl_.failed.fetch_add(1, std::memory_order_acq_rel);
      }
      if (!times_known_) learn_times();
      if (times_known_) sample_self(now);
      if (index_ == 0) {
        if (!lead(now, phase)) return;  // aborted
      }
      if (phase >= kDraining && !finished_ && now >= next_drain_check) {
        next_drain_check = now + 20'000'000;
        if (outstanding() == 0 || now >= ctl_.drain_deadline_ns.load(std::memory_order_acquire)) finish(now);
      }
      if (finished_ && index_ != 0) {
        if (phase == kExit) return;
      }
      if (finished_ && index_ == 0 && ctl_.finished.load(std::memory_order_acquire) == procs_) return;

      int n = wait(events, now);
      for (int k = 0; k < n; ++k) {
        const auto& ev = events[static_cast<std::size_t>(k)];
        if (ev.data.u64 & kPubTag) {
          on_pub(static_cast<std::size_t>(ev.data.u64 & 0xffffffffu), ev.events);
        } else {
          on_sub(static_cast<std::size_t>(ev.data.u64), ev.events);
        }
      }
    }
  }

  // Process 0 calls these when every subscriber streams and at the window's edges (false: its
  // start, true: its end), to sample the server.
  std::function<void()> on_all_connected = [] {};
  std::function<void(bool)> on_window_edge = [](bool) {};
  int src_count_ = 1;

  // Publisher-side figures (process 0 only).
  std::int64_t published_total_ = 0, published_window_ = 0, post_ok_ = 0, post_errors_ = 0, late_ = 0, max_lag_ns_ = 0;
  bench::Histogram post_latency_;
  std::int64_t start_ns_ = 0;

 private:
  // --- the lead process: start signal, publishing, drain signal -------------------------------

  /** Returns false when the run is aborted. */
  std::int64_t idle_until_ = 0;

  bool lead(std::int64_t now, int phase) {
    if (phase == kConnecting) {
      const int r = ctl_.ready.load(std::memory_order_acquire), f = ctl_.failed.load(std::memory_order_acquire);
      if (r + f < procs_) return true;
      if (f > 0) {
        ctl_.phase.store(kAbort, std::memory_order_release);
        return true;  // finish() on the next turn
      }
      if (idle_until_ == 0) {
        on_all_connected();  // connect time and RSS are taken once, before any --idle wait
        idle_until_ = now + static_cast<std::int64_t>(o_.idle * kSecond);
      }
      // Everyone connected: stay idle (heartbeats only) for --idle seconds first.
      if (now < idle_until_) return true;
      for (std::size_t p = 0; p < pubs_.size(); ++p) connect_pub(p);  // now: idle ones may time out
      start_ns_ = now_ns();
      const std::int64_t from = start_ns_ + static_cast<std::int64_t>(o_.warmup * kSecond);
      const std::int64_t end = o_.messages > 0 ? LLONG_MAX : from + static_cast<std::int64_t>(o_.duration * kSecond);
      ctl_.start_ns.store(start_ns_, std::memory_order_relaxed);
      ctl_.measure_from_ns.store(from, std::memory_order_relaxed);
      ctl_.end_ns.store(end, std::memory_order_relaxed);
      ctl_.phase.store(kPublishing, std::memory_order_release);
      next_due_ = start_ns_;
      if (o_.publishers == 0) stop_publishing_ = true;
      return true;
    }
    if (phase == kPublishing) {
      if (!stop_publishing_) publish_due(now);
      if (!stop_publishing_ && ((o_.messages == 0 && now >= end_) ||
                                (o_.messages > 0 && published_total_ >= o_.messages) || stop_requested)) {
        stop_publishing_ = true;
        if (stop_requested && sampled_from_ && !sampled_end_) {  // the window ends now
          sampled_end_ = true;
          res_->cpu_window_ns = self_cpu_ns() - self_from_;
          on_window_edge(true);
        }
      }
      if (stop_publishing_ && stopped_at_ == 0) stopped_at_ = now;
      if (stop_publishing_ && in_flight_ > 0 && now - stopped_at_ > static_cast<std::int64_t>(o_.drain * kSecond)) {
        std::fprintf(stderr, "bench_sse_load: %" PRId64 " POSTs unanswered after %.0f s\n", in_flight_, o_.drain);
        post_errors_ += in_flight_;
        in_flight_ = 0;
      }
      if (stop_publishing_ && in_flight_ == 0) {
        ctl_.drain_deadline_ns.store(now + static_cast<std::int64_t>(o_.drain * kSecond), std::memory_order_relaxed);
        ctl_.phase.store(kDraining, std::memory_order_release);
      }
    }
    return true;
  }

  std::uint32_t pick_topic() {
    if (!o_.random_pick) return static_cast<std::uint32_t>(rr_++ % static_cast<std::uint64_t>(o_.topics));
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return static_cast<std::uint32_t>(rng_ % static_cast<std::uint64_t>(o_.topics));
  }

  void publish_due(std::int64_t now) {
    const bool open_loop = o_.rate > 0;
    const auto interval = open_loop ? static_cast<std::int64_t>(kSecond / o_.rate) : 0;
    while (!free_pubs_.empty()) {
      if (o_.messages > 0 && published_total_ >= o_.messages) return;
      if (o_.messages == 0 && now >= end_) return;
      if (open_loop && next_due_ > now) return;
      const std::size_t p = free_pubs_.back();
      free_pubs_.pop_back();
      if (open_loop) {
        const std::int64_t lag = now - next_due_;
        if (lag > 1'000'000) ++late_;
        max_lag_ns_ = std::max(max_lag_ns_, lag);
        next_due_ += interval;
      }
      send_update(p, pick_topic());
      now = now_ns();
    }
  }

  void send_update(std::size_t p, std::uint32_t t) {
    Pub& c = pubs_[p];
    std::uint32_t& counter = sh_.published[p * static_cast<std::size_t>(o_.topics) + t];
    const std::uint32_t seq = std::atomic_ref<std::uint32_t>(counter).load(std::memory_order_relaxed);
    const std::int64_t sent = now_ns();
    char prefix[96];
    int len = std::snprintf(prefix, sizeof prefix, "%zu %" PRIu32 " %" PRIu32 " %" PRId64 " ", p, t, seq, sent);
    std::string data(prefix, static_cast<std::size_t>(len));
    if (data.size() < o_.data_bytes) data.append(o_.data_bytes - data.size(), 'x');
    std::string body, path;
    if (o_.nchan) {
      body = std::move(data);
      path = o_.pub_path + o_.channel_prefix + std::to_string(t);
    } else {
      body = "topic=" + bench::url_encode(o_.topic_prefix + std::to_string(t)) + "&data=";
      for (char ch : data) {
        if (ch == ' ')
          body += "%20";
        else
          body += ch;
      }
      path = "/.well-known/mercure";
    }
    c.out = "POST " + path + " HTTP/1.1\r\nHost: " + o_.host +
            "\r\nContent-Type: " + (o_.nchan ? "text/plain" : "application/x-www-form-urlencoded") + "\r\n";
    if (!o_.token.empty() && !o_.nchan) c.out += "Authorization: Bearer " + o_.token + "\r\n";
    c.out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    c.written = 0;
    c.in.clear();
    c.sent_ns = sent;
    c.busy = true;
    ++in_flight_;
    ++published_total_;
    if (sent >= measure_from_ && sent < end_) ++published_window_;
    if (res_->first_send_ns == 0) res_->first_send_ns = sent;
    std::atomic_ref<std::uint32_t>(counter).store(seq + 1, std::memory_order_relaxed);
    flush_pub(p);
  }

  void connect_pub(std::size_t p) {
    Pub& c = pubs_[p];
    c.fd = bench::tcp_connect(dst_, "", false);
    if (c.fd < 0) die("publisher connect: " + std::string(strerror(errno)));
    bench::set_nonblocking(c.fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kPubTag | p;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    free_pubs_.push_back(p);
  }

  void flush_pub(std::size_t p) {
    Pub& c = pubs_[p];
    while (c.written < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = kPubTag | p;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
        return;
      }
      if (n < 0) {
        pub_failed(p, "send: " + std::string(strerror(errno)));
        return;
      }
      c.written += static_cast<std::size_t>(n);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kPubTag | p;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void pub_failed(std::size_t p, const std::string& why) {
    Pub& c = pubs_[p];
    if (post_errors_++ < 5) std::fprintf(stderr, "bench_sse_load: publisher %zu: %s\n", p, why.c_str());
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    if (c.busy) --in_flight_;
    c = Pub{};
    free_pubs_.erase(std::remove(free_pubs_.begin(), free_pubs_.end(), p), free_pubs_.end());
    connect_pub(p);  // the update in flight is lost and counted as a POST error
  }

  void on_pub(std::size_t p, std::uint32_t events) {
    Pub& c = pubs_[p];
    if (events & EPOLLOUT) flush_pub(p);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    for (;;) {
      ssize_t n = ::recv(c.fd, buf_, sizeof buf_, 0);
      if (n > 0) {
        if (c.in.size() + static_cast<std::size_t>(n) > (1 << 20)) return pub_failed(p, "response too large");
        c.in.append(buf_, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0 && !c.busy) {  // an idle keep-alive connection closed by the server: reopen it
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c = Pub{};
        free_pubs_.erase(std::remove(free_pubs_.begin(), free_pubs_.end(), p), free_pubs_.end());
        connect_pub(p);
        return;
      }
      return pub_failed(p, n == 0 ? "the server closed the connection" : strerror(errno));
    }
    if (!c.busy) return;
    auto r = bench::parse_response(c.in);
    if (!r) return;
    const std::int64_t now = now_ns();
    c.busy = false;
    --in_flight_;
    c.in.erase(0, r->size);
    if (r->status >= 200 && r->status < 300) {
      ++post_ok_;
      if (c.sent_ns >= measure_from_ && c.sent_ns < end_) post_latency_.add(now - c.sent_ns);
    } else if (post_errors_++ < 5) {
      std::fprintf(stderr, "bench_sse_load: POST status %d: %s\n", r->status, r->body.c_str());
    }
    free_pubs_.push_back(p);
    if (ctl_.phase.load(std::memory_order_relaxed) == kPublishing && !stop_publishing_) publish_due(now);
  }

  // --- subscribers ------------------------------------------------------------------------------

  std::string source_for(int global) const {
    if (src_count_ <= 1) return "";
    return "127.0.0." + std::to_string(1 + global % src_count_);
  }

  void start_connects() {
    while (!pending_.empty() && connecting_ < static_cast<std::size_t>(o_.connect_concurrency)) {
      const std::uint32_t k = pending_.back();
      pending_.pop_back();
      Sub& s = subs_[k];
      ++s.attempts;
      s.fd = bench::tcp_connect(dst_, source_for(first_ + static_cast<int>(k)), true);
      if (s.fd < 0) {
        sub_connect_failed(k, "connect: " + std::string(strerror(errno)));
        continue;
      }
      s.state = kTcpConnecting;
      ++connecting_;
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN;
      ev.data.u64 = k;
      epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
    }
  }

  void sub_connect_failed(std::uint32_t k, const std::string& why) {
    Sub& s = subs_[k];
    if (s.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
      s.fd = -1;
      --connecting_;
    }
    s.state = kIdle;
    s.sent = 0;
    s.line_len = 0;
    s.status_seen = false;
    s.chunked = false;
    if (s.attempts < 5) {
      pending_.insert(pending_.begin(), k);  // retried after the others
      return;
    }
    s.state = kClosed;
    if (res_->connect_failures++ < 3)
      std::fprintf(stderr, "bench_sse_load: subscriber %d: %s\n", first_ + static_cast<int>(k), why.c_str());
  }

  std::string sub_request(std::uint32_t k) const {
    const Sub& s = subs_[k];
    std::string r;
    if (o_.nchan) {
      r = "GET " + o_.sub_path + o_.channel_prefix + std::to_string(s.topic) + " HTTP/1.1\r\n";
    } else {
      r = "GET /.well-known/mercure?topic=" + bench::url_encode(o_.topic_prefix + std::to_string(s.topic)) +
          " HTTP/1.1\r\n";
    }
    r += "Host: " + o_.host + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
    if (!o_.sub_token.empty() && !o_.nchan) r += "Authorization: Bearer " + o_.sub_token + "\r\n";
    r += "\r\n";
    return r;
  }

  void on_sub(std::size_t kk, std::uint32_t events) {
    const auto k = static_cast<std::uint32_t>(kk);
    Sub& s = subs_[k];
    if (s.fd < 0) return;
    if (s.state == kTcpConnecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return sub_connect_failed(k, "connect: " + std::string(strerror(err)));
      s.state = kRequesting;
    }
    if (s.state == kRequesting) {
      const std::string req = sub_request(k);
      while (s.sent < req.size()) {
        ssize_t n = ::send(s.fd, req.data() + s.sent, req.size() - s.sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) return sub_connect_failed(k, "send: " + std::string(strerror(errno)));
        s.sent = static_cast<std::uint16_t>(s.sent + n);
      }
      s.state = kHead;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = k;
      epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
      return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    ssize_t n = ::recv(s.fd, buf_, sizeof buf_, 0);  // level-triggered: one read per turn, fair
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      if (s.state == kHead) return sub_connect_failed(k, n == 0 ? "closed before the response head" : strerror(errno));
      return close_sub(k, true);
    }
    const std::int64_t now = now_ns();
    feed(k, buf_, static_cast<std::size_t>(n), now);
  }

  void close_sub(std::uint32_t k, bool count) {
    Sub& s = subs_[k];
    if (count && !finished_) {
      if (res_->disconnects++ < 3)
        std::fprintf(stderr, "bench_sse_load: subscriber %d: the stream ended\n", first_ + static_cast<int>(k));
    }
    if (s.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
      ::close(s.fd);
    }
    s.fd = -1;
    s.state = kClosed;
  }

  void feed(std::uint32_t k, const char* p, std::size_t n, std::int64_t now) {
    Sub& s = subs_[k];
    std::size_t i = 0;
    while (i < n && s.state == kHead) {
      const char c = p[i++];
      if (c != '\n') {
        if (s.line_len < sizeof s.line) s.line[s.line_len++] = c;
        continue;
      }
      std::string_view line(s.line, s.line_len);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      s.line_len = 0;
      if (!s.status_seen) {
        s.status_seen = true;
        int status =
            line.size() >= 12 && line.substr(0, 5) == "HTTP/" ? std::atoi(std::string(line.substr(9, 3)).c_str()) : -1;
        if (status != 200) {
          if (res_->bad_status++ == 0) res_->first_bad_status = status;
          s.attempts = 100;  // a wrong status is not retried
          return sub_connect_failed(k, "status " + std::to_string(status));
        }
      } else if (line.empty()) {
        s.state = kStreaming;
        s.chunk_state = kChunkSize;
        s.chunk_left = 0;
        --connecting_;
        ++res_->connected;
      } else if (line.size() > 18 && strncasecmp(line.data(), "transfer-encoding:", 18) == 0) {
        s.chunked = line.find("chunked") != std::string_view::npos;
      }
    }
    while (i < n && s.state == kStreaming) {
      if (!s.chunked) {
        sse_bytes(k, p + i, n - i, now);
        return;
      }
      switch (s.chunk_state) {
        case kChunkSize: {
          const char c = p[i++];
          int digit = -1;
          if (c >= '0' && c <= '9') digit = c - '0';
          if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
          if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
          if (digit >= 0) {
            if (s.chunk_left > (1u << 26)) return protocol_error(k);
            s.chunk_left = s.chunk_left * 16 + static_cast<std::uint32_t>(digit);
          } else if (c == ';' || c == '\r') {
            s.chunk_state = kChunkExt;
          } else if (c == '\n') {
            if (s.chunk_left == 0) return close_sub(k, true);  // the last chunk: the stream ended
            s.chunk_state = kChunkData;
          } else {
            return protocol_error(k);
          }
          break;
        }
        case kChunkExt:
          if (p[i++] == '\n') {
            if (s.chunk_left == 0) return close_sub(k, true);
            s.chunk_state = kChunkData;
          }
          break;
        case kChunkData: {
          const std::size_t take = std::min<std::size_t>(s.chunk_left, n - i);
          sse_bytes(k, p + i, take, now);
          i += take;
          s.chunk_left -= static_cast<std::uint32_t>(take);
          if (s.chunk_left == 0) s.chunk_state = kChunkDataEnd;
          break;
        }
        case kChunkDataEnd:
          if (p[i++] == '\n') s.chunk_state = kChunkSize;
          break;
      }
    }
  }

  void protocol_error(std::uint32_t k) {
    ++res_->protocol_errors;
    close_sub(k, true);
  }

  void sse_bytes(std::uint32_t k, const char* p, std::size_t n, std::int64_t now) {
    Sub& s = subs_[k];
    for (std::size_t i = 0; i < n; ++i) {
      const char c = p[i];
      if (c != '\n') {
        if (s.line_len < sizeof s.line) s.line[s.line_len++] = c;
        continue;
      }
      std::string_view line(s.line, s.line_len);
      s.line_len = 0;
      if (line.size() >= 5 && line.substr(0, 5) == "data:") {
        on_data(k, line.substr(5), now);
      } else if (!line.empty() && line[0] == ':') {
        ++res_->comments;  // the hub's first flush, then heartbeats
      }
    }
  }

  static bool parse_u64(std::string_view& v, std::uint64_t& out) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    std::size_t i = 0;
    out = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9' && i < 19)
      out = out * 10 + static_cast<std::uint64_t>(v[i++] - '0');
    if (i == 0) return false;
    v.remove_prefix(i);
    return true;
  }

  void on_data(std::uint32_t k, std::string_view v, std::int64_t now) {
    if (!times_known_) learn_times();
    std::uint64_t p = 0, t = 0, q = 0, ts = 0;
    if (!parse_u64(v, p) || !parse_u64(v, t) || !parse_u64(v, q) || !parse_u64(v, ts) || p >= pubs_per_ ||
        q > UINT32_MAX) {
      ++res_->bad_payload;
      return;
    }
    Sub& s = subs_[k];
    if (t != s.topic) {
      ++res_->wrong_topic;
      return;
    }
    std::uint32_t& next = next_[k * pubs_per_ + p];
    const auto seq = static_cast<std::uint32_t>(q);
    if (seq < next) {
      if (!fill_gap(s, static_cast<std::uint32_t>(p), seq)) {
        ++res_->duplicated;
        return;
      }
      ++res_->reordered;
    } else {
      if (seq > next) {
        if (!s.gaps) s.gaps = std::make_unique<std::vector<Gap>>();
        if (s.gaps->size() < kMaxGaps)
          s.gaps->push_back(Gap{static_cast<std::uint32_t>(p), next, seq});
        else
          res_->missing += seq - next;  // too many holes to track: counted as missing now
      }
      next = seq + 1;
    }
    ++res_->delivered;
    res_->last_recv_ns = now;
    const auto sent = static_cast<std::int64_t>(ts);
    if (now >= measure_from_ && now < end_) ++res_->delivered_window;
    if (sent >= measure_from_ && sent < end_) {
      res_->e2e.add(now - sent);
      res_->max_latency_ns = std::max(res_->max_latency_ns, now - sent);
    }
  }

  static bool fill_gap(Sub& s, std::uint32_t p, std::uint32_t q) {
    if (!s.gaps) return false;
    auto& gaps = *s.gaps;
    for (std::size_t g = 0; g < gaps.size(); ++g) {
      Gap gap = gaps[g];
      if (gap.publisher != p || q < gap.lo || q >= gap.hi) continue;
      gaps.erase(gaps.begin() + static_cast<long>(g));
      if (gap.lo < q) gaps.push_back(Gap{p, gap.lo, q});
      if (q + 1 < gap.hi) gaps.push_back(Gap{p, q + 1, gap.hi});
      return true;
    }
    return false;
  }

  /** Updates published to this process's subscribers' topics and not received yet. */
  std::int64_t outstanding() const {
    std::int64_t total = 0;
    for (std::size_t k = 0; k < subs_.size(); ++k) {
      const Sub& s = subs_[k];
      if (s.state != kStreaming) continue;  // a closed stream was counted already
      for (std::size_t p = 0; p < pubs_per_; ++p) {
        const std::uint32_t published =
            std::atomic_ref<std::uint32_t>(sh_.published[p * static_cast<std::size_t>(o_.topics) + s.topic])
                .load(std::memory_order_relaxed);
        if (published > next_[k * pubs_per_ + p]) total += published - next_[k * pubs_per_ + p];
      }
      if (s.gaps)
        for (const Gap& g : *s.gaps) total += g.hi - g.lo;
    }
    return total;
  }

  /** The window, once process 0 has started publishing (an update may arrive before the loop sees it). */
  void learn_times() {
    if (ctl_.phase.load(std::memory_order_acquire) < kPublishing) return;
    times_known_ = true;
    measure_from_ = ctl_.measure_from_ns.load(std::memory_order_relaxed);
    end_ = ctl_.end_ns.load(std::memory_order_relaxed);
  }

  void sample_self(std::int64_t now) {
    if (!sampled_from_ && now >= measure_from_) {
      sampled_from_ = true;
      self_from_ = self_cpu_ns();
      if (index_ == 0) on_window_edge(false);
    }
    if (sampled_from_ && !sampled_end_ && now >= end_) {
      sampled_end_ = true;
      res_->cpu_window_ns = self_cpu_ns() - self_from_;
      if (index_ == 0) on_window_edge(true);
    }
  }

  void finish(std::int64_t now) {
    if (finished_) return;
    finished_ = true;
    if (sampled_from_ && !sampled_end_) res_->cpu_window_ns = self_cpu_ns() - self_from_;
    std::int64_t expected = 0, missing = 0;
    for (std::size_t k = 0; k < subs_.size(); ++k) {
      const Sub& s = subs_[k];
      for (std::size_t p = 0; p < pubs_per_; ++p) {
        const std::uint32_t published =
            std::atomic_ref<std::uint32_t>(sh_.published[p * static_cast<std::size_t>(o_.topics) + s.topic])
                .load(std::memory_order_relaxed);
        expected += published;
        if (published > next_[k * pubs_per_ + p]) missing += published - next_[k * pubs_per_ + p];
      }
      if (s.gaps)
        for (const Gap& g : *s.gaps) missing += g.hi - g.lo;
    }
    res_->expected = expected;
    res_->missing += missing;
    (void)now;
    ctl_.finished.fetch_add(1, std::memory_order_acq_rel);
  }

  int wait(std::vector<epoll_event>& events, std::int64_t now) {
    std::int64_t timeout = 20'000'000;
    const int phase = ctl_.phase.load(std::memory_order_relaxed);
    if (index_ == 0 && phase == kPublishing && !stop_publishing_ && o_.rate > 0 && !free_pubs_.empty())
      timeout = std::min(timeout, next_due_ - now);
    if (times_known_ && !sampled_from_) timeout = std::min(timeout, measure_from_ - now);
    if (times_known_ && !sampled_end_ && end_ != LLONG_MAX) timeout = std::min(timeout, end_ - now);
    if (phase == kConnecting && index_ == 0) timeout = std::min<std::int64_t>(timeout, 2'000'000);
    if (timeout < 0) timeout = 0;
    timespec ts{static_cast<time_t>(timeout / kSecond), static_cast<long>(timeout % kSecond)};
    int n = epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    if (n < 0 && errno != EINTR) die("epoll_pwait2: " + std::string(strerror(errno)));
    return std::max(n, 0);
  }

  const Options& o_;
  Shared sh_;
  Control& ctl_;
  ProcResult* res_ = nullptr;
  int index_, procs_, first_;
  int ep_ = -1;
  sockaddr_in dst_{};
  std::vector<Sub> subs_;
  std::vector<std::uint32_t> pending_;  // subscribers not connected yet
  std::size_t connecting_ = 0;          // TCP connect, request or response head in progress
  std::size_t pubs_per_ = 1;
  std::vector<std::uint32_t> next_;  // [sub * publishers + publisher]: the next expected sequence
  std::vector<Pub> pubs_;
  std::vector<std::size_t> free_pubs_;
  std::int64_t in_flight_ = 0, next_due_ = 0, stopped_at_ = 0;
  std::uint64_t rr_ = 0, rng_ = 0x9E3779B97F4A7C15ull;
  bool stop_publishing_ = false, ready_reported_ = false, times_known_ = false, sampled_from_ = false,
       sampled_end_ = false, finished_ = false;
  std::int64_t measure_from_ = LLONG_MAX, end_ = LLONG_MAX, self_from_ = 0;
  char buf_[65536];
};

// ---------------------------------------------------------------------------------------------

struct ServerSamples {
  std::int64_t rss_base = 0, rss_connected = 0, rss_end = 0, cpu_from = 0, cpu_end = 0, t_from = 0, t_end = 0;
  MachineTimes machine_from, machine_end;
};

void print_report(const Options& o, const Proc& lead, const ProcResult& r, const ServerSamples& sv, int procs,
                  int src_count, double window_s, double connect_s, int exit_code) {
  const double us = 1e-3;
  const double delivered_per_s = window_s > 0 ? static_cast<double>(r.delivered_window) / window_s : 0;
  const double server_cpu_us = static_cast<double>(sv.cpu_end - sv.cpu_from) * us;
  const double cpu_per_delivery = r.delivered_window > 0 ? server_cpu_us / static_cast<double>(r.delivered_window) : 0;
  const double server_cpu_pct = window_s > 0 ? server_cpu_us / (window_s * 1e6) * 100 : 0;
  const double rss_per_sub =
      r.connected > 0 ? static_cast<double>(sv.rss_connected - sv.rss_base) * 1024 / static_cast<double>(r.connected)
                      : 0;
  const auto mt_total = sv.machine_end.total - sv.machine_from.total;
  const double busy = mt_total > 0 ? 100.0 * static_cast<double>(sv.machine_end.busy - sv.machine_from.busy) /
                                         static_cast<double>(mt_total)
                                   : 0;
  const double gen_cpu_pct = window_s > 0 ? static_cast<double>(r.cpu_window_ns) / (window_s * 1e9) * 100 : 0;
  const double e50 = r.e2e.percentile(0.5) * us, e90 = r.e2e.percentile(0.9) * us, e99 = r.e2e.percentile(0.99) * us,
               emax = static_cast<double>(r.max_latency_ns) * us;
  const double p50 = lead.post_latency_.percentile(0.5) * us, p99 = lead.post_latency_.percentile(0.99) * us;
  const char* target = o.nchan ? "nchan" : "mercure";
  if (o.json) {
    std::printf(
        "{\"label\":\"%s\",\"target\":\"%s\",\"subscribers\":%d,\"connected\":%" PRId64
        ",\"topics\":%d,\"publishers\":%d,\"rate\":%.0f,\"messages\":%lld,\"procs\":%d,\"src_addrs\":%d,"
        "\"connect_s\":%.3f,\"window_s\":%.3f,\"published\":%" PRId64 ",\"published_window\":%" PRId64
        ",\"post_ok\":%" PRId64 ",\"post_errors\":%" PRId64 ",\"publishes_per_s\":%.0f,\"late_publishes\":%" PRId64
        ",\"max_publish_lag_us\":%.0f,\"expected\":%" PRId64 ",\"delivered\":%" PRId64 ",\"delivered_window\":%" PRId64
        ",\"delivered_per_s\":%.0f,\"missing\":%" PRId64 ",\"duplicated\":%" PRId64 ",\"reordered\":%" PRId64
        ",\"wrong_topic\":%" PRId64 ",\"bad_payload\":%" PRId64 ",\"disconnects\":%" PRId64
        ",\"connect_failures\":%" PRId64 ",\"bad_status\":%" PRId64 ",\"protocol_errors\":%" PRId64
        ",\"comments\":%" PRId64 ",\"e2e_p50_us\":%.0f,\"e2e_p90_us\":%.0f,\"e2e_p99_us\":%.0f,\"e2e_max_us\":%.0f,"
        "\"post_p50_us\":%.0f,\"post_p99_us\":%.0f,\"server_cpu_us\":%.0f,\"server_cpu_us_per_delivery\":%.3f,"
        "\"server_cpu_pct\":%.1f,\"rss_base_kib\":%" PRId64 ",\"rss_connected_kib\":%" PRId64
        ",\"rss_end_kib\":%" PRId64
        ",\"rss_per_sub_bytes\":%.0f,\"machine_busy_pct\":%.1f,\"generator_cpu_pct\":%.1f,\"ok\":%s}\n",
        o.label.c_str(), target, o.subscribers, r.connected, o.topics, o.publishers, o.rate, o.messages, procs,
        src_count, connect_s, window_s, lead.published_total_, lead.published_window_, lead.post_ok_, lead.post_errors_,
        window_s > 0 ? static_cast<double>(lead.published_window_) / window_s : 0, lead.late_,
        static_cast<double>(lead.max_lag_ns_) * us, r.expected, r.delivered, r.delivered_window, delivered_per_s,
        r.missing, r.duplicated, r.reordered, r.wrong_topic, r.bad_payload, r.disconnects, r.connect_failures,
        r.bad_status, r.protocol_errors, r.comments, e50, e90, e99, emax, p50, p99, server_cpu_us, cpu_per_delivery, server_cpu_pct,
        sv.rss_base, sv.rss_connected, sv.rss_end, rss_per_sub, busy, gen_cpu_pct, exit_code == 0 ? "true" : "false");
    return;
  }
  std::printf("%s%s%s: %" PRId64 "/%d subscribers connected in %.2f s (%d processes, %d source addresses), %d topics\n",
              target, o.label.empty() ? "" : " ", o.label.c_str(), r.connected, o.subscribers, connect_s, procs,
              src_count, o.topics);
  std::printf("  publishers %d, %s; window %.2f s: published %" PRId64 " (%.0f/s), POST p50 %.0f us p99 %.0f us",
              o.publishers,
              o.messages > 0 ? (std::to_string(o.messages) + " updates in all").c_str()
              : o.rate > 0   ? ("open loop " + std::to_string(static_cast<long long>(o.rate)) + "/s").c_str()
                             : "closed loop",
              window_s, lead.published_window_,
              window_s > 0 ? static_cast<double>(lead.published_window_) / window_s : 0, p50, p99);
  if (o.rate > 0 && o.messages == 0)
    std::printf(", late %" PRId64 " (max lag %.0f us)", lead.late_, static_cast<double>(lead.max_lag_ns_) * us);
  std::printf("\n  delivered %" PRId64 " of %" PRId64 " expected; %.0f/s in the window; missing %" PRId64
              ", duplicated %" PRId64 ", reordered %" PRId64 ", wrong topic %" PRId64 ", disconnects %" PRId64
              ", POST errors %" PRId64 "\n",
              r.delivered, r.expected, delivered_per_s, r.missing, r.duplicated, r.reordered, r.wrong_topic,
              r.disconnects, lead.post_errors_);
  std::printf("  end-to-end latency: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", e50, e90, e99, emax);
  std::printf("  comment lines received (first flushes and heartbeats): %" PRId64 "\n", r.comments);
  if (!o.server_pids.empty()) {
    std::printf("  server: %.2f us CPU per delivery (%.1f%% of a core); RSS %" PRId64 " KiB -> %" PRId64
                " KiB connected (%.0f bytes per subscriber) -> %" PRId64 " KiB at the end\n",
                cpu_per_delivery, server_cpu_pct, sv.rss_base, sv.rss_connected, rss_per_sub, sv.rss_end);
  }
  std::printf("  machine busy %.1f%%, generator %.1f%% of a core; %s\n", busy, gen_cpu_pct,
              exit_code == 0 ? "OK" : "FAILED");
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
      Proc proc(o, sh, i, procs, range(i), range(i + 1));
      proc.src_count_ = src_count;
      proc.run();
      _exit(0);
    }
    children.push_back(pid);
  }

  Proc lead(o, sh, 0, procs, range(0), range(1));
  lead.src_count_ = src_count;
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

  ProcResult total;
  for (int i = 0; i < procs; ++i) {
    const ProcResult& r = sh.results[i];
    total.subscribers += r.subscribers;
    total.connected += r.connected;
    total.connect_failures += r.connect_failures;
    total.bad_status += r.bad_status;
    total.disconnects += r.disconnects;
    total.protocol_errors += r.protocol_errors;
    total.delivered += r.delivered;
    total.delivered_window += r.delivered_window;
    total.duplicated += r.duplicated;
    total.reordered += r.reordered;
    total.missing += r.missing;
    total.wrong_topic += r.wrong_topic;
    total.bad_payload += r.bad_payload;
    total.comments += r.comments;
    total.expected += r.expected;
    total.last_recv_ns = std::max(total.last_recv_ns, r.last_recv_ns);
    total.max_latency_ns = std::max(total.max_latency_ns, r.max_latency_ns);
    total.cpu_window_ns += r.cpu_window_ns;
    if (r.first_bad_status != 0 && total.first_bad_status == 0) total.first_bad_status = r.first_bad_status;
    total.e2e.merge(r.e2e);
  }
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
                  total.protocol_errors == 0 && lead.post_errors_ == 0 && (o.publishers == 0 || lead.post_ok_ > 0);
  const int code = ok ? 0 : 1;
  print_report(o, lead, total, sv, procs, src_count, window_s, connect_s, code);
  return code;
}
