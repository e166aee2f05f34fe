#include "http/sse_reactor.hpp"

#include "http/response_batch.hpp"
#include "http/shard.hpp"
#include "http/sse_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace mercure {

namespace asio = boost::asio;

namespace {
// Connections written per turn of the event loop before yielding to the shard's other work.
constexpr std::size_t kFlushBudget = 128;
// Deadlines handled per turn (a heartbeat, an expiry, an end of life each): when thousands come
// due together (streams sharing a token's exp, a crowd connected in one burst), the rest wait
// for the next turn instead of holding publishes and other streams' writes back for all of them.
constexpr std::size_t kDeadlineBudget = 128;
// Readiness events taken from the epoll set per turn.
constexpr int kMaxEvents = 256;

int create_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}
}  // namespace

SseReactor::SseReactor(asio::io_context& io, Shard& shard)
    : io_(io), shard_(shard), epoll_fd_(create_epoll()), epoll_(io, epoll_fd_), timer_(io) {}

SseReactor::~SseReactor() {
  // close(abandon) skips the reactor: nothing below is touched while the vectors are cleared.
  for (auto& c : live_) c->close(DisconnectReason::shutdown, true);
  live_.clear();
  retired_.clear();
}

void SseReactor::open(SseStart start) {
  const auto now = Clock::now();
  auto owned = std::make_unique<SseConnection>(*this, std::move(start));
  SseConnection* c = owned.get();
  c->live_slot = live_.size();
  live_.push_back(std::move(owned));
  open_count_.store(live_.size(), std::memory_order_relaxed);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd(), &ev) != 0) {
    spdlog::error("worker {}: cannot watch an event stream's socket: {}", shard_.id(), std::strerror(errno));
    c->close(DisconnectReason::client_gone);
    return;
  }
  arm_epoll();
  c->begin(now);
}

void SseReactor::shutdown_all() {
  stopping_ = true;
  const auto now = Clock::now();
  std::vector<SseConnection*> open;
  open.reserve(live_.size());
  for (auto& c : live_) open.push_back(c.get());
  for (SseConnection* c : open) c->finish(DisconnectReason::shutdown, now);
  reap();
}

void SseReactor::announce_again() {
  for (auto& c : live_) c->announce_again();
}

void SseReactor::after_dispatch() {
  run_flush(Clock::now());
  reap();
}

void SseReactor::mark_dirty(SseConnection* c) {
  if (c->dirty) return;
  c->dirty = true;
  dirty_.push_back(c);
  post_flush();
}

void SseReactor::schedule(SseConnection* c, Clock::time_point at) {
  deadlines_.schedule(c, at);
  if (at < timer_at_) arm_timer();
}

void SseReactor::cancel_deadline(SseConnection* c) {
  deadlines_.cancel(c);
}

void SseReactor::retire(SseConnection* c) {
  deadlines_.cancel(c);
  const std::size_t slot = c->live_slot;
  if (slot >= live_.size() || live_[slot].get() != c) return;
  retired_.push_back(std::move(live_[slot]));
  if (slot + 1 != live_.size()) {
    live_[slot] = std::move(live_.back());
    live_[slot]->live_slot = slot;
  }
  live_.pop_back();
  open_count_.store(live_.size(), std::memory_order_relaxed);
  post_reap();
}

void SseReactor::arm_epoll() {
  if (epoll_armed_) return;
  epoll_armed_ = true;
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    epoll_armed_ = false;
    if (!ec) on_epoll();
  });
}

void SseReactor::on_epoll() {
  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, 0);
  if (n < 0) n = 0;  // EINTR: the next readiness brings us back
  const auto now = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<SseConnection*>(events[i].data.ptr);
    if (!c->closed()) c->on_io(events[i].events, now);
  }
  run_flush(now);
  reap();
  if (n == kMaxEvents) {
    // More may be ready: the epoll set is edge-triggered for Asio too, so look again
    // after the shard's other work instead of waiting for a new edge.
    asio::post(io_, [this] { on_epoll(); });
  } else if (!stopping_ || !live_.empty()) {
    arm_epoll();
  }
}

void SseReactor::arm_timer() {
  DeadlineEntry* top = deadlines_.top();
  if (top == nullptr) return;
  timer_at_ = top->deadline();
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_at(timer_at_);
  timer_.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != timer_generation_) return;
    on_timer();
  });
}

void SseReactor::on_timer() {
  timer_at_ = Clock::time_point::max();
  const auto now = Clock::now();
  for (std::size_t handled = 0; handled < kDeadlineBudget; ++handled) {
    DeadlineEntry* e = deadlines_.pop_due(now);
    if (e == nullptr) break;
    static_cast<SseConnection*>(e)->on_deadline(now);
  }
  run_flush(now);
  reap();
  arm_timer();  // at a time already past when entries are still due: after the loop's other work
}

OutboxChunk* SseReactor::stage(SseConnection* c) {
  if (!batching_ || staged_count_ == staged_.size()) return nullptr;
  OutboxChunk& chunk = staged_[staged_count_++];
  chunk.owner = c;
  return &chunk;
}

SendRing* SseReactor::send_ring() {
  if (!ring_opened_) {
    ring_opened_ = true;
    if (shard_.options().io_uring) {
      std::string why;
      ring_ = SendRing::open(kFlushBudget, why);
      if (ring_ == nullptr) {
        spdlog::warn(
            "worker {}: io_uring unavailable ({}): event streams are written with one send() each "
            "(io_uring false / IO_URING=false says so without this warning)",
            shard_.id(), why);
      } else {
        staged_.resize(std::min<std::size_t>(ring_->capacity(), kFlushBudget));
        spdlog::info("worker {}: event-stream sends batched through io_uring (up to {} per system call)", shard_.id(),
                     staged_.size());
      }
    }
  }
  if (ring_ != nullptr && ring_->broken()) {
    spdlog::warn("worker {}: io_uring failed: event streams are written with one send() each from now on", shard_.id());
    ring_.reset();
  }
  return ring_.get();
}

void SseReactor::send_staged(Clock::time_point now) {
  const std::size_t count = staged_count_;
  staged_count_ = 0;
  if (count == 0) return;
  for (std::size_t i = 0; i < count; ++i) staged_[i].result = SendRing::kNotSent;
  if (count > 1) {
    // One system call for every connection of the turn (a single one is sent directly).
    for (std::size_t i = 0; i < count; ++i) ring_->queue(staged_[i].owner->fd(), staged_[i].msg, i);
    for (const SendRing::Result& r : ring_->submit()) {
      if (r.tag < count) staged_[r.tag].result = r.res;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    OutboxChunk& chunk = staged_[i];
    chunk.owner->complete(chunk, chunk.result, now);
  }
}

void SseReactor::run_flush(Clock::time_point now) {
  shard_.responses().send_staged();  // no response waits behind a turn of event-stream sends
  batching_ = send_ring() != nullptr;
  std::size_t budget = kFlushBudget;
  while (dirty_head_ < dirty_.size() && budget > 0) {
    // The send below evicts most of what we touch: start loading the next connection now.
    if (dirty_head_ + 1 < dirty_.size()) dirty_[dirty_head_ + 1]->prefetch();
    SseConnection* c = dirty_[dirty_head_++];
    c->dirty = false;
    if (c->closed()) continue;
    c->flush(now, batching_);
    --budget;
  }
  if (batching_) {
    batching_ = false;
    send_staged(now);
  }
  if (dirty_head_ == dirty_.size()) {
    dirty_.clear();
    dirty_head_ = 0;
  } else {
    post_flush();
  }
}

template <class F>
void SseReactor::post_once(bool& posted, F f) {
  if (posted) return;
  posted = true;
  asio::post(io_, [&posted, f] {
    posted = false;
    f();
  });
}

void SseReactor::post_flush() {
  post_once(flush_posted_, [this] {
    run_flush(Clock::now());
    reap();
  });
}

void SseReactor::post_reap() {
  post_once(reap_posted_, [this] { reap(); });
}

void SseReactor::report_delivered() {
  for (std::size_t i = 0; i < kDeliverySources; ++i) {
    if (delivered_[i] == 0) continue;
    shard_.metrics().delivered(shard_.id(), static_cast<DeliverySource>(i), delivered_[i]);
    delivered_[i] = 0;
  }
}

void SseReactor::reap() {
  report_delivered();
  if (!retired_.empty()) {
    // No queued flush may name a connection about to be destroyed.
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(dirty_head_));
    dirty_head_ = 0;
    std::erase_if(dirty_, [](SseConnection* c) { return c->closed(); });
    for (std::size_t i = 0; i < retired_.size(); ++i) shard_.connection_memory_freed();
    retired_.clear();
  }
  stop_waiting_if_done();
}

void SseReactor::stop_waiting_if_done() {
  if (!stopping_ || !live_.empty()) return;
  boost::system::error_code ignored;
  epoll_.cancel(ignored);
  ++timer_generation_;
  timer_.cancel();
}

}  // namespace mercure
