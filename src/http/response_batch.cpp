#include "http/response_batch.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cerrno>

namespace mercure {

namespace {

// Sends per system call: a worker rarely has more responses ready in one turn.
constexpr unsigned kRingEntries = 64;

int send_one(int fd, const msghdr& msg) {
  ssize_t n = 0;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : static_cast<int>(n);
}

}  // namespace

ResponseBatch::ResponseBatch(boost::asio::io_context& io, bool use_ring, unsigned worker)
    : io_(io), use_ring_(use_ring), worker_(worker) {}

// Staged responses left when the event loop stopped: their handlers (and the suspended
// connections they hold) are destroyed here, while the sockets' io_context still exists.
ResponseBatch::~ResponseBatch() = default;

void ResponseBatch::stage(int fd, const std::array<boost::asio::const_buffer, 2>& wire,
                          std::unique_ptr<CompletionBase> handler) {
  Staged& s = staged_.emplace_back();
  s.fd = fd;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    s.iov[i].iov_base = const_cast<void*>(wire[i].data());
    s.iov[i].iov_len = wire[i].size();
  }
  s.handler = std::move(handler);
  // Behind the handlers already queued: the responses they make join this batch.
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(io_, [this] { flush(); });
  }
}

void ResponseBatch::flush() {
  flush_posted_ = false;
  send_staged();
  completing_.swap(sent_);  // sent_ is empty again: what the handlers stage goes in a new batch
  // Each connection goes on now (it may stage its next response, into staged_).
  for (Staged& s : completing_) {
    const auto handler = std::move(s.handler);
    handler->complete(s.result);
  }
  completing_.clear();
}

void ResponseBatch::send_staged() {
  if (staged_.empty()) return;
  sending_.swap(staged_);  // the flush posted when the first was staged completes them
  const std::size_t n = sending_.size();
  for (Staged& s : sending_) {
    s.msg = msghdr{};
    s.msg.msg_iov = s.iov.data();
    s.msg.msg_iovlen = s.iov.size();
    s.result = SendRing::kNotSent;
  }
  if (n > 1) {
    if (SendRing* r = ring()) {
      for (std::size_t base = 0; base < n && !r->broken(); base += r->capacity()) {
        const std::size_t end = std::min(n, base + r->capacity());
        for (std::size_t i = base; i < end; ++i) r->queue(sending_[i].fd, sending_[i].msg, i);
        ++ring_submits_;
        for (const SendRing::Result& res : r->submit()) {
          if (res.tag < n) sending_[res.tag].result = res.res;
        }
      }
    }
  }
  for (Staged& s : sending_) {
    if (s.result == SendRing::kNotSent) s.result = send_one(s.fd, s.msg);
    sent_.push_back(std::move(s));
  }
  sending_.clear();
}

SendRing* ResponseBatch::ring() {
  if (!ring_opened_) {
    ring_opened_ = true;
    if (use_ring_) {
      std::string why;
      ring_ = SendRing::open(kRingEntries, why);
      if (ring_ == nullptr) {
        spdlog::warn("worker {}: io_uring unavailable ({}): responses are written with one send() each", worker_, why);
      }
    }
  }
  if (ring_ != nullptr && ring_->broken()) {
    spdlog::warn("worker {}: io_uring failed: responses are written with one send() each from now on", worker_);
    ring_.reset();
  }
  return ring_.get();
}

}  // namespace mercure
