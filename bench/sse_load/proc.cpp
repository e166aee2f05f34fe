#include "proc.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "proc_readings.hpp"

namespace bench::sse_load {

namespace {

int epoll_set() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1: " + std::string(strerror(errno)));
  return ep;
}

}  // namespace

Proc::Proc(const Options& o, Shared shared, int index, int procs, int first_sub, int last_sub, int src_count)
    : o_(o),
      sh_(shared),
      ctl_(*shared.control),
      res_(&shared.results[index]),
      index_(index),
      procs_(procs),
      ep_(epoll_set()),
      dst_(bench::ipv4_address(o_.host, o_.port)),
      subs_(o, shared, *res_, window_, ep_, dst_, first_sub, last_sub, src_count),
      pubs_(o, shared, *res_, window_, ep_, dst_, index == 0) {}

void Proc::run() {
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
    subs_.start_connects();
    if (!ready_reported_ && subs_.connects_done()) {
      ready_reported_ = true;
      res_->connect_done_ns = now;
      if (res_->connected == res_->subscribers)
        ctl_.ready.fetch_add(1, std::memory_order_acq_rel);
      else
        ctl_.failed.fetch_add(1, std::memory_order_acq_rel);
    }
    if (!ready_reported_ && now > connect_deadline) {
      std::fprintf(stderr, "bench_sse_load: process %d: %zu subscribers still connecting after %.0f s\n", index_,
                   subs_.still_connecting(), o_.connect_timeout);
      ready_reported_ = true;
      ctl_.failed.fetch_add(1, std::memory_order_acq_rel);
    }
    if (!window_.known) window_.learn(ctl_);
    if (window_.known) sample_self(now);
    if (index_ == 0) {
      if (!lead(now, phase)) return;  // aborted
    }
    if (phase >= kDraining && !finished_ && now >= next_drain_check) {
      next_drain_check = now + 20'000'000;
      if (subs_.outstanding() == 0 || now >= ctl_.drain_deadline_ns.load(std::memory_order_acquire)) finish(now);
    }
    if (finished_ && index_ != 0) {
      if (phase == kExit) return;
    }
    if (finished_ && index_ == 0 && ctl_.finished.load(std::memory_order_acquire) == procs_) return;

    int n = wait(events, now);
    for (int k = 0; k < n; ++k) {
      const auto& ev = events[static_cast<std::size_t>(k)];
      if (ev.data.u64 & kPubTag) {
        pubs_.on_pub(static_cast<std::size_t>(ev.data.u64 & 0xffffffffu), ev.events);
      } else {
        subs_.on_sub(static_cast<std::size_t>(ev.data.u64), ev.events);
      }
    }
  }
}

bool Proc::lead(std::int64_t now, int phase) {
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
    pubs_.connect_all();  // now: idle ones may time out
    const std::int64_t start_ns = now_ns();
    const std::int64_t from = start_ns + static_cast<std::int64_t>(o_.warmup * kSecond);
    const std::int64_t end = o_.messages > 0 ? LLONG_MAX : from + static_cast<std::int64_t>(o_.duration * kSecond);
    ctl_.start_ns.store(start_ns, std::memory_order_relaxed);
    ctl_.measure_from_ns.store(from, std::memory_order_relaxed);
    ctl_.end_ns.store(end, std::memory_order_relaxed);
    ctl_.phase.store(kPublishing, std::memory_order_release);
    pubs_.start(start_ns);
    return true;
  }
  if (phase == kPublishing) {
    if (pubs_.turn(now) && stop_requested && sampled_from_ && !sampled_end_) {  // the window ends now
      sampled_end_ = true;
      res_->cpu_window_ns = self_cpu_ns() - self_from_;
      on_window_edge(true);
    }
    if (pubs_.drained(now)) {
      ctl_.drain_deadline_ns.store(now + static_cast<std::int64_t>(o_.drain * kSecond), std::memory_order_relaxed);
      ctl_.phase.store(kDraining, std::memory_order_release);
    }
  }
  return true;
}

void Proc::sample_self(std::int64_t now) {
  if (!sampled_from_ && now >= window_.measure_from) {
    sampled_from_ = true;
    self_from_ = self_cpu_ns();
    if (index_ == 0) on_window_edge(false);
  }
  if (sampled_from_ && !sampled_end_ && now >= window_.end) {
    sampled_end_ = true;
    res_->cpu_window_ns = self_cpu_ns() - self_from_;
    if (index_ == 0) on_window_edge(true);
  }
}

void Proc::finish(std::int64_t now) {
  if (finished_) return;
  finished_ = true;
  if (sampled_from_ && !sampled_end_) res_->cpu_window_ns = self_cpu_ns() - self_from_;
  subs_.finish();
  (void)now;
  ctl_.finished.fetch_add(1, std::memory_order_acq_rel);
}

int Proc::wait(std::vector<epoll_event>& events, std::int64_t now) {
  std::int64_t timeout = 20'000'000;
  const int phase = ctl_.phase.load(std::memory_order_relaxed);
  if (index_ == 0 && phase == kPublishing) timeout = std::min(timeout, pubs_.next_due() - now);
  if (window_.known && !sampled_from_) timeout = std::min(timeout, window_.measure_from - now);
  if (window_.known && !sampled_end_ && window_.end != LLONG_MAX) timeout = std::min(timeout, window_.end - now);
  if (phase == kConnecting && index_ == 0) timeout = std::min<std::int64_t>(timeout, 2'000'000);
  if (timeout < 0) timeout = 0;
  timespec ts{static_cast<time_t>(timeout / kSecond), static_cast<long>(timeout % kSecond)};
  int n = epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
  if (n < 0 && errno != EINTR) die("epoll_pwait2: " + std::string(strerror(errno)));
  return std::max(n, 0);
}

}  // namespace bench::sse_load
