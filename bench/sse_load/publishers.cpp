#include "publishers.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <climits>
#include <cstdio>

namespace bench::sse_load {

Publishers::Publishers(const Options& o, Shared shared, ProcResult& res, const Window& window, int ep,
                       const sockaddr_in& dst, bool lead)
    : o_(o), sh_(shared), ctl_(*shared.control), res_(&res), window_(window), ep_(ep), dst_(dst) {
  if (lead) {
    pubs_.resize(static_cast<std::size_t>(o_.publishers));
    rng_ ^= static_cast<std::uint64_t>(now_ns());
  }
}

void Publishers::connect_all() {
  for (std::size_t p = 0; p < pubs_.size(); ++p) connect_pub(p);
}

void Publishers::start(std::int64_t start_ns) {
  next_due_ = start_ns;
  if (o_.publishers == 0) stop_publishing_ = true;
}

bool Publishers::turn(std::int64_t now) {
  if (stop_publishing_) return false;
  publish_due(now);
  if ((o_.messages == 0 && now >= window_.end) || (o_.messages > 0 && fig_.published_total >= o_.messages) ||
      stop_requested) {
    stop_publishing_ = true;
    return true;
  }
  return false;
}

bool Publishers::drained(std::int64_t now) {
  if (!stop_publishing_) return false;
  if (stopped_at_ == 0) stopped_at_ = now;
  if (in_flight_ > 0 && now - stopped_at_ > static_cast<std::int64_t>(o_.drain * kSecond)) {
    std::fprintf(stderr, "bench_sse_load: %" PRId64 " POSTs unanswered after %.0f s\n", in_flight_, o_.drain);
    fig_.post_errors += in_flight_;
    in_flight_ = 0;
  }
  return in_flight_ == 0;
}

std::int64_t Publishers::next_due() const {
  return !stop_publishing_ && o_.rate > 0 && !free_pubs_.empty() ? next_due_ : LLONG_MAX;
}

std::uint32_t Publishers::pick_topic() {
  if (!o_.random_pick) return static_cast<std::uint32_t>(rr_++ % static_cast<std::uint64_t>(o_.topics));
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return static_cast<std::uint32_t>(rng_ % static_cast<std::uint64_t>(o_.topics));
}

void Publishers::publish_due(std::int64_t now) {
  const bool open_loop = o_.rate > 0;
  const auto interval = open_loop ? static_cast<std::int64_t>(kSecond / o_.rate) : 0;
  while (!free_pubs_.empty()) {
    if (o_.messages > 0 && fig_.published_total >= o_.messages) return;
    if (o_.messages == 0 && now >= window_.end) return;
    if (open_loop && next_due_ > now) return;
    const std::size_t p = free_pubs_.back();
    free_pubs_.pop_back();
    if (open_loop) {
      const std::int64_t lag = now - next_due_;
      if (lag > 1'000'000) ++fig_.late;
      fig_.max_lag_ns = std::max(fig_.max_lag_ns, lag);
      next_due_ += interval;
    }
    send_update(p, pick_topic());
    now = now_ns();
  }
}

void Publishers::send_update(std::size_t p, std::uint32_t t) {
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
    body = "topic=" + bench::url_encode(o_.topic_prefix + std::to_string(t) + o_.topic_suffix) + "&data=";
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
  ++fig_.published_total;
  if (sent >= window_.measure_from && sent < window_.end) ++fig_.published_window;
  if (res_->first_send_ns == 0) res_->first_send_ns = sent;
  std::atomic_ref<std::uint32_t>(counter).store(seq + 1, std::memory_order_relaxed);
  flush_pub(p);
}

void Publishers::connect_pub(std::size_t p) {
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

void Publishers::flush_pub(std::size_t p) {
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

void Publishers::pub_failed(std::size_t p, const std::string& why) {
  Pub& c = pubs_[p];
  if (fig_.post_errors++ < 5) std::fprintf(stderr, "bench_sse_load: publisher %zu: %s\n", p, why.c_str());
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  if (c.busy) --in_flight_;
  c = Pub{};
  free_pubs_.erase(std::remove(free_pubs_.begin(), free_pubs_.end(), p), free_pubs_.end());
  connect_pub(p);  // the update in flight is lost and counted as a POST error
}

void Publishers::on_pub(std::size_t p, std::uint32_t events) {
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
    ++fig_.post_ok;
    if (c.sent_ns >= window_.measure_from && c.sent_ns < window_.end) fig_.post_latency.add(now - c.sent_ns);
  } else if (fig_.post_errors++ < 5) {
    std::fprintf(stderr, "bench_sse_load: POST status %d: %s\n", r->status, r->body.c_str());
  }
  free_pubs_.push_back(p);
  if (ctl_.phase.load(std::memory_order_relaxed) == kPublishing && !stop_publishing_) publish_due(now);
}

}  // namespace bench::sse_load
