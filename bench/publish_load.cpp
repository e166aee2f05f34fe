// Closed-loop HTTP/1.1 publisher load generator: N keep-alive connections, each with exactly
// one POST in flight; reports updates/s and POST latency (from writing the request to the
// whole response parsed). One thread, epoll, no third-party code.
//
//   bench_publish_load --port P --token JWT [--host 127.0.0.1] [--connections 16]
//                      [--duration 10] [--warmup 2] [--requests N] [--topic T] [--data-bytes 100]
//                      [--ids PREFIX] [--topics N] [--json]
// --requests N stops after N acknowledged updates (a fill); otherwise the run lasts
// warmup + duration seconds and only the last `duration` seconds are measured.
// --ids PREFIX sends id=PREFIX<n> with a global counter n = 0, 1, 2... (a checkable run).
// --topics N gives each update a second topic, T/<k>, k cycling over 0..N-1 (N distinct topics).

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.hpp"

namespace {

using bench::ArgReader;
using bench::die;
using bench::url_encode;

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  int connections = 16;
  double duration = 10;
  double warmup = 2;
  long long requests = 0;
  std::string topic = "https://example.com/bench";
  long long topics = 0;  // > 0: a second topic per update, among this many
  std::size_t data_bytes = 100;
  std::string ids;
  bool json = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (ArgReader args(argc, argv); args.next();) {
    const std::string_view a = args.name();
    auto value = [&] { return args.value(); };
    if (a == "--host")
      o.host = value();
    else if (a == "--port")
      o.port = std::stoi(value());
    else if (a == "--token")
      o.token = value();
    else if (a == "--connections")
      o.connections = std::stoi(value());
    else if (a == "--duration")
      o.duration = std::stod(value());
    else if (a == "--warmup")
      o.warmup = std::stod(value());
    else if (a == "--requests")
      o.requests = std::stoll(value());
    else if (a == "--topic")
      o.topic = value();
    else if (a == "--topics")
      o.topics = std::stoll(value());
    else if (a == "--data-bytes")
      o.data_bytes = std::stoul(value());
    else if (a == "--ids")
      o.ids = value();
    else if (a == "--json")
      o.json = true;
    else
      die("unknown option " + std::string(a));
  }
  if (o.port <= 0 || o.token.empty() || o.connections <= 0) die("--port and --token are required");
  return o;
}

// A connection's buffers keep their capacity from one request to the next: after the first
// request, sending and checking one allocates nothing.
struct Conn {
  int fd = -1;
  std::string out;  // request being written
  std::size_t written = 0;
  bool want_out = false;  // EPOLLOUT registered (a request only partly written)
  std::string in;         // response bytes so far
  std::string joined;     // a chunked response's body
  Clock::time_point sent;
  long long id = -1;
  double measured_us = 0;  // the sum of this connection's measured latencies
  long long measured = 0;
};

// The decimal digits of `v`, in `buf`.
std::string_view decimal(long long v, char (&buf)[24]) {
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return {buf, static_cast<std::size_t>(end - buf)};
}

class Load {
 public:
  explicit Load(Options o) : o_(std::move(o)) {
    ep_ = epoll_create1(0);
    body_fixed_ = "topic=" + url_encode(o_.topic) + "&data=" + std::string(o_.data_bytes, 'x');
    // url_encode(ids + n) is url_encode(ids) + n: digits are never escaped.
    if (!o_.ids.empty()) body_fixed_ += "&id=" + url_encode(o_.ids);
    topic_prefix_ = "&topic=" + url_encode(o_.topic + "/");
    head_ = "POST /.well-known/mercure HTTP/1.1\r\nHost: " + o_.host +
            "\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer " + o_.token +
            "\r\nContent-Length: ";
  }

  int run() {
    conns_.resize(static_cast<std::size_t>(o_.connections));
    for (auto& c : conns_) connect_one(c);
    const auto start = Clock::now();
    measure_from_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.warmup));
    if (o_.requests > 0) measure_from_ = start;
    end_ =
        o_.requests > 0
            ? Clock::time_point::max()
            : measure_from_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration));
    for (auto& c : conns_) send_next(c);
    std::vector<epoll_event> events(256);
    while (!done()) {
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
      for (int k = 0; k < n; ++k) {
        auto& c = conns_[events[static_cast<std::size_t>(k)].data.u32];
        if (events[static_cast<std::size_t>(k)].events & EPOLLOUT) flush(c);
        if (events[static_cast<std::size_t>(k)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some(c);
      }
    }
    report(std::chrono::duration<double>(std::min(Clock::now(), end_) - measure_from_).count());
    return errors_ == 0 && statuses_.size() <= 1 ? 0 : 1;
  }

 private:
  bool done() const {
    if (o_.requests > 0) return ok_ >= o_.requests || (issued_ >= o_.requests && in_flight_ == 0);
    return Clock::now() >= end_;
  }

  void connect_one(Conn& c) {
    c.fd = bench::tcp_connect(bench::ipv4_address(o_.host, o_.port), "", false);
    if (c.fd < 0) die("connect: " + std::string(strerror(errno)));
    bench::set_nonblocking(c.fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void send_next(Conn& c) {
    if (o_.requests > 0 && issued_ >= o_.requests) return;
    if (o_.requests == 0 && Clock::now() >= end_) return;
    char id_buf[24], length_buf[24];
    std::string_view id_digits;
    if (!o_.ids.empty()) {
      c.id = next_id_++;
      id_digits = decimal(c.id, id_buf);
    }
    char topic_buf[24];
    std::string second_topic;
    if (o_.topics > 0) second_topic.assign(topic_prefix_).append(decimal(next_topic_++ % o_.topics, topic_buf));
    c.out.assign(head_)
        .append(
            decimal(static_cast<long long>(body_fixed_.size() + id_digits.size() + second_topic.size()), length_buf))
        .append("\r\n\r\n")
        .append(body_fixed_)
        .append(id_digits)
        .append(second_topic);
    c.written = 0;
    c.in.clear();
    c.sent = Clock::now();
    ++issued_;
    ++in_flight_;
    flush(c);
  }

  // EPOLLOUT only while a request is partly written: epoll_ctl only when that changes.
  void want_out(Conn& c, bool on) {
    if (c.want_out == on) return;
    c.want_out = on;
    epoll_event ev{};
    ev.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void flush(Conn& c) {
    while (c.written < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want_out(c, true);
        return;
      }
      if (n < 0) die("send: " + std::string(strerror(errno)));
      c.written += static_cast<std::size_t>(n);
    }
    want_out(c, false);
  }

  void read_some(Conn& c) {
    // One response at most is in flight: reading stops once it is whole (epoll is
    // level-triggered, so anything after it, an end of stream included, is reported again).
    char buf[16384];
    std::optional<bench::ResponseView> response;
    while (!response) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        response = bench::parse_response_view(c.in, c.joined);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      die("the hub closed a publisher connection (" + std::string(n == 0 ? "eof" : strerror(errno)) + ")");
    }
    const int status = response->status;
    const auto now = Clock::now();
    --in_flight_;
    ++statuses_[status];
    if (status == 200) {
      char id_buf[24];
      if (!o_.ids.empty() &&
          (!response->body.starts_with(o_.ids) || response->body.substr(o_.ids.size()) != decimal(c.id, id_buf))) {
        ++errors_;
      }
      if (c.sent >= measure_from_ && now <= end_) {
        latencies_us_.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
        ++measured_;
        c.measured_us += latencies_us_.back();
        ++c.measured;
      }
      ++ok_;
    } else if (errors_++ < 5) {
      std::fprintf(stderr, "bench_publish_load: status %d: %.*s\n", status, static_cast<int>(response->body.size()),
                   response->body.data());
    }
    send_next(c);
  }

  double pct(double p) {
    if (latencies_us_.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(latencies_us_.size() - 1));
    std::nth_element(latencies_us_.begin(), latencies_us_.begin() + static_cast<long>(k), latencies_us_.end());
    return latencies_us_[k];
  }

  void report(double seconds) {
    const double rate = seconds > 0 ? static_cast<double>(measured_) / seconds : 0;
    const double p50 = pct(0.50), p90 = pct(0.90), p99 = pct(0.99);
    const double max = latencies_us_.empty() ? 0 : *std::max_element(latencies_us_.begin(), latencies_us_.end());
    // The spread of the connections' mean latencies: equal when the hub serves them evenly.
    double conn_min = 0, conn_max = 0;
    for (const auto& c : conns_) {
      if (c.measured == 0) continue;
      const double mean = c.measured_us / static_cast<double>(c.measured);
      conn_min = conn_min == 0 ? mean : std::min(conn_min, mean);
      conn_max = std::max(conn_max, mean);
    }
    std::string non200;
    for (auto [status, count] : statuses_) {
      if (status != 200) non200 += (non200.empty() ? "" : ",") + std::to_string(status) + ":" + std::to_string(count);
    }
    if (o_.json) {
      std::printf(
          "{\"connections\":%d,\"ok\":%lld,\"measured\":%lld,\"seconds\":%.3f,\"updates_per_s\":%.0f,"
          "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"conn_mean_min_us\":%.0f,"
          "\"conn_mean_max_us\":%.0f,\"errors\":%lld,\"non200\":\"%s\"}\n",
          o_.connections, ok_, measured_, seconds, rate, p50, p90, p99, max, conn_min, conn_max, errors_,
          non200.c_str());
    } else {
      std::printf(
          "%d connections: %lld ok (%lld measured in %.2f s) = %.0f updates/s; POST latency p50 %.0f us, "
          "p90 %.0f us, p99 %.0f us, max %.0f us; connections' mean latency %.0f-%.0f us; errors %lld%s%s\n",
          o_.connections, ok_, measured_, seconds, rate, p50, p90, p99, max, conn_min, conn_max, errors_,
          non200.empty() ? "" : "; non-200 ", non200.c_str());
    }
  }

  Options o_;
  int ep_ = -1;
  std::string body_fixed_;    // the body up to the id's digits
  std::string topic_prefix_;  // "&topic=" and the encoded "<topic>/" of --topics
  long long next_topic_ = 0;
  std::string head_;  // the request head up to the Content-Length value
  std::vector<Conn> conns_;
  Clock::time_point measure_from_, end_;
  long long issued_ = 0, in_flight_ = 0, ok_ = 0, measured_ = 0, errors_ = 0, next_id_ = 0;
  std::map<int, long long> statuses_;
  std::vector<double> latencies_us_;
};

}  // namespace

int main(int argc, char** argv) {
  bench::program_name = "bench_publish_load";
  Load load(parse(argc, argv));
  return load.run();
}
