// The kernel's floor for a fan-out on this machine: what one non-blocking send() of a small
// SSE-sized message to each of N loopback TCP connections costs the sending process, measured
// in the same conditions as the hub (sender pinned to one core, the reader on the other). A hub
// cannot deliver an event for less CPU than this with one send per message; bench/compare
// prints our CPU per delivery next to it. With --uring K the sends are made as the hub makes
// them by default: one sendmsg of three buffers (size line, frame, CRLF) per connection, K of
// them per system call through the hub's SendRing (io_uring).
//
//   bench_send_floor [--connections N] [--rounds R] [--rate per_s] [--batch K] [--bytes B]
//                    [--uring K] [--sender-cpu C] [--reader-cpu C] [--json [--label NAME]]
//
// The reader is a forked process (each process stays under the open-file limit) that drains
// every connection with epoll. The sender writes `batch` messages per send(), `rounds` times to
// every connection, `rate` rounds per second (0 = back to back), and reports its own CPU time
// (CLOCK_PROCESS_CPUTIME_ID: user + kernel, the softirq work of loopback delivery included) per
// delivered message.

#include "http/send_ring.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Options {
  int connections = 10000;
  int rounds = 50;
  double rate = 10;
  int batch = 1;
  int bytes = 120;
  int sender_cpu = 0;
  int reader_cpu = 1;
  int uring = 0;  // sendmsg calls per io_uring submit (the hub's SendRing); 0 = one send() each
  bool json = false;
  std::string label;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_send_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_send_floor: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--connections") o.connections = std::atoi(value());
    else if (a == "--rounds") o.rounds = std::atoi(value());
    else if (a == "--rate") o.rate = std::atof(value());
    else if (a == "--batch") o.batch = std::atoi(value());
    else if (a == "--bytes") o.bytes = std::atoi(value());
    else if (a == "--sender-cpu") o.sender_cpu = std::atoi(value());
    else if (a == "--reader-cpu") o.reader_cpu = std::atoi(value());
    else if (a == "--uring") o.uring = std::atoi(value());
    else if (a == "--json") o.json = true;
    else if (a == "--label") o.label = value();
    else {
      std::fprintf(stderr, "bench_send_floor: unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (o.connections < 1 || o.rounds < 1 || o.batch < 1 || o.bytes < 1) {
    std::fprintf(stderr, "bench_send_floor: counts must be positive\n");
    std::exit(2);
  }
  return o;
}

// The child: connects every client socket, then drains them all until the sender closes.
[[noreturn]] void reader(const Options& o, sockaddr_in addr, int ready_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pin(o.reader_cpu);
  const int ep = epoll_create1(0);
  for (int i = 0; i < o.connections; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  }
  const char one = 1;
  if (write(ready_fd, &one, 1) != 1) die("ready");
  std::vector<epoll_event> events(1024);
  std::vector<char> buf(64 * 1024);
  int open = o.connections;
  while (open > 0) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const ssize_t r = read(events[i].data.fd, buf.data(), buf.size());
      if (r == 0) {
        close(events[i].data.fd);
        --open;
      }
    }
  }
  std::_Exit(0);
}

// One chunk (size line, frame, CRLF) as the hub writes it: three buffers in one sendmsg.
struct Chunk {
  iovec iov[3];
  msghdr msg{};
  explicit Chunk(const std::string& payload) {
    const std::size_t n = payload.size();
    auto* base = const_cast<char*>(payload.data());
    const std::size_t head = payload.find("\r\n") + 2;
    iov[0] = iovec{base, head};
    iov[1] = iovec{base + head, n - head - 2};
    iov[2] = iovec{base + n - 2, 2};
    msg.msg_iov = iov;
    msg.msg_iovlen = 3;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(o.connections) + 64 > rl.rlim_cur) {
    std::fprintf(stderr, "bench_send_floor: %d connections need more than the open-file limit (%llu)\n", o.connections,
                 static_cast<unsigned long long>(rl.rlim_cur));
    return 2;
  }
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (listen(listener, 4096) != 0) die("listen");
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  int ready[2];
  if (pipe(ready) != 0) die("pipe");
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(listener);
    reader(o, addr, ready[1]);
  }
  pin(o.sender_cpu);
  std::vector<int> conns;
  conns.reserve(static_cast<std::size_t>(o.connections));
  while (static_cast<int>(conns.size()) < o.connections) {
    const int s = accept(listener, nullptr, nullptr);
    if (s < 0) die("accept");
    const int on = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    conns.push_back(s);
  }
  char go = 0;
  if (read(ready[0], &go, 1) != 1) die("reader");

  // One SSE frame in one HTTP chunk, `batch` times.
  std::string frame = "data: " + std::string(static_cast<std::size_t>(o.bytes), 'x') + "\n\n";
  char head[32];
  const int h = std::snprintf(head, sizeof head, "%zx\r\n", frame.size());
  std::string message = std::string(head, static_cast<std::size_t>(h)) + frame + "\r\n";
  std::string payload;
  for (int i = 0; i < o.batch; ++i) payload += message;

  using Clock = std::chrono::steady_clock;
  const auto period = o.rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate))
                                 : Clock::duration::zero();
  long long sends = 0, would_block = 0;
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  auto next = t0;
  std::unique_ptr<mercure::SendRing> ring;
  if (o.uring > 0) {
    std::string why;
    ring = mercure::SendRing::open(static_cast<unsigned>(o.uring), why);
    if (ring == nullptr) {
      std::fprintf(stderr, "bench_send_floor: io_uring unavailable: %s\n", why.c_str());
      return 2;
    }
  }
  const Chunk chunk(payload);
  for (int r = 0; r < o.rounds; ++r) {
    if (ring) {
      for (std::size_t i = 0; i < conns.size(); i += ring->capacity()) {
        const std::size_t count = std::min(ring->capacity(), conns.size() - i);
        for (std::size_t k = 0; k < count; ++k) ring->queue(conns[i + k], chunk.msg, k);
        for (const auto& result : ring->submit()) {
          if (result.res < 0) ++would_block;
        }
        sends += static_cast<long long>(count);
      }
      next += period;
      if (period != Clock::duration::zero()) std::this_thread::sleep_until(next);
      continue;
    }
    for (const int s : conns) {
      const ssize_t n = send(s, payload.data(), payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++would_block;
      ++sends;
    }
    next += period;
    if (period != Clock::duration::zero()) std::this_thread::sleep_until(next);
  }
  const double cpu = cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const int s : conns) close(s);
  int status = 0;
  waitpid(child, &status, 0);

  const double per_send_us = cpu * 1e6 / static_cast<double>(sends);
  const double per_message_us = per_send_us / o.batch;
  if (o.json) {
    std::printf(
        "{\"target\":\"floor\",\"label\":\"%s\",\"connections\":%d,\"rounds\":%d,\"rate\":%.1f,\"batch\":%d,\"uring\":%d,\"bytes\":%zu,\"sends\":%lld,\"would_block\":%lld,"
        "\"cpu_s\":%.3f,\"wall_s\":%.3f,\"us_per_send\":%.3f,\"us_per_message\":%.3f}\n",
        o.label.c_str(), o.connections, o.rounds, o.rate, o.batch, o.uring, message.size(), sends, would_block, cpu, wall,
        per_send_us, per_message_us);
  } else {
    std::printf(
        "send floor: %d connections x %d rounds (%.0f/s), %d message(s) of %zu bytes per send%s: %.2f us CPU per send, "
        "%.2f us per message (%lld sends would have blocked)\n",
        o.connections, o.rounds, o.rate, o.batch, message.size(), o.uring > 0 ? " (io_uring batches)" : "",
        per_send_us, per_message_us, would_block);
  }
  return would_block == 0 ? 0 : 1;
}
