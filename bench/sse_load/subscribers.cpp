#include "subscribers.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <string_view>

#include "../http_client.hpp"

namespace bench::sse_load {

Subscribers::Subscribers(const Options& o, Shared shared, ProcResult& res, Window& window, int ep,
                         const sockaddr_in& dst, int first_sub, int last_sub, int src_count)
    : o_(o),
      res_(&res),
      checks_(o, shared, res, window, static_cast<std::size_t>(last_sub - first_sub)),
      ep_(ep),
      dst_(dst),
      first_(first_sub),
      src_count_(src_count) {
  subs_.resize(static_cast<std::size_t>(last_sub - first_sub));
  for (std::size_t k = 0; k < subs_.size(); ++k) {
    subs_[k].topic = static_cast<std::uint32_t>((first_ + static_cast<int>(k)) % o_.topics);
    pending_.push_back(static_cast<std::uint32_t>(subs_.size() - 1 - k));  // popped from the back: in order
  }
  res_->subscribers = static_cast<std::int64_t>(subs_.size());
}

void Subscribers::finish() {
  finished_ = true;
  checks_.tally(subs_);
}

std::string Subscribers::source_for(int global) const {
  if (src_count_ <= 1) return "";
  return "127.0.0." + std::to_string(1 + global % src_count_);
}

void Subscribers::start_connects() {
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

void Subscribers::sub_connect_failed(std::uint32_t k, const std::string& why) {
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

std::string Subscribers::sub_request(std::uint32_t k) const {
  const Sub& s = subs_[k];
  std::string r;
  if (o_.nchan) {
    r = "GET " + o_.sub_path + o_.channel_prefix + std::to_string(s.topic) + " HTTP/1.1\r\n";
  } else {
    r = "GET /.well-known/mercure?topic=" +
        bench::url_encode((o_.selector_prefix.empty() ? o_.topic_prefix : o_.selector_prefix) +
                          std::to_string(s.topic) + o_.selector_suffix);
    if (!o_.extra_selector.empty()) r += "&topic=" + bench::url_encode(o_.extra_selector);
    r += " HTTP/1.1\r\n";
  }
  r += "Host: " + o_.host + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
  if (!o_.sub_token.empty() && !o_.nchan) r += "Authorization: Bearer " + o_.sub_token + "\r\n";
  r += "\r\n";
  return r;
}

void Subscribers::on_sub(std::size_t kk, std::uint32_t events) {
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

void Subscribers::close_sub(std::uint32_t k, bool count) {
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

void Subscribers::feed(std::uint32_t k, const char* p, std::size_t n, std::int64_t now) {
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

void Subscribers::protocol_error(std::uint32_t k) {
  ++res_->protocol_errors;
  close_sub(k, true);
}

void Subscribers::sse_bytes(std::uint32_t k, const char* p, std::size_t n, std::int64_t now) {
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
      checks_.on_data(s, k, line.substr(5), now);
    } else if (!line.empty() && line[0] == ':') {
      ++res_->comments;  // the hub's first flush, then heartbeats
    }
  }
}

}  // namespace bench::sse_load
