#include "http/sse_connection.hpp"

#include "core/sse_frame.hpp"
#include "http/outbox_chunk.hpp"
#include "http/shard.hpp"
#include "http/sse_reactor.hpp"

#include <spdlog/spdlog.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

namespace mercure {

namespace {

constexpr std::string_view kHeartbeatChunk = "2\r\n:\n\r\n";
constexpr std::string_view kHeartbeat = sse_heartbeat();
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// One replay step reads at most this much of the history before writing or yielding.
constexpr std::size_t kReplayEventsPerStep = 1024;
constexpr std::size_t kReplayBytesPerStep = 64 * 1024;
// How long a finishing stream waits for its last bytes when dispatch_timeout is off.
constexpr auto kFinishGrace = std::chrono::seconds(5);
// A deadline that found nothing to do yet (a heartbeat behind pending frames) looks again.
constexpr auto kRetry = std::chrono::milliseconds(10);
// pending_ gives its memory back once written when it grew past this.
constexpr std::size_t kKeepPendingCapacity = 4096;
// The shard's scratch space for TLS records gives its memory back past this.
constexpr std::size_t kKeepRecordsCapacity = 1024 * 1024;
// What TLS answers (key updates, alerts) may add to a stalled write before the stream is cut off.
constexpr std::size_t kMaxPendingReplies = 16 * 1024;
// At most this much is read (and discarded) per readiness event.
constexpr std::size_t kMaxDrain = 64 * 1024;

iovec iov_of(std::string_view s) {
  return iovec{const_cast<char*>(s.data()), s.size()};
}

}  // namespace

SseConnection::SseConnection(SseReactor& reactor, SseStart start) : reactor_(reactor), start_(std::move(start)) {}

SseConnection::~SseConnection() {
  if (phase_ != Phase::closed) close(End::shutdown, true);
  reactor_.shard().connection_ended();
}

void SseConnection::begin(Clock::time_point now) {
  Shard& shard = reactor_.shard();
  if (start_.replay) subscriber().start_replay();  // buffer live updates from registration on
  subscriber().set_wake([this] { reactor_.mark_dirty(this); });
  shard.index().add(start_.subscriber.get());
  registered_ = true;
  shard.metrics().subscriber_connected(shard.id());
  if (settings().on_registered) settings().on_registered();

  // The request's record buffers are not needed while the stream is idle.
  if (start_.tls) start_.tls->release_buffers();
  // Flush the headers with a comment at once.
  std::string head = std::move(start_.head);
  head.append(settings().chunked ? kHeartbeatChunk : kHeartbeat);
  if (!write_bytes(head, now)) return;
  // Records that came with the request (a closing alert sent right after it) are read now:
  // the socket will not signal them again.
  if (start_.tls && start_.tls->input_pending() > 0 && !process_tls_input()) {
    close(End::client_gone);
    return;
  }
  if (start_.replay) reactor_.mark_dirty(this);
  schedule_next(now);
}

bool SseConnection::write_bytes(std::string_view bytes, Clock::time_point now) {
  const iovec one = iov_of(bytes);
  return write(std::span<const iovec>(&one, 1), bytes.size(), 0, DeliverySource::live, now);
}

bool SseConnection::write(std::span<const iovec> iov, std::size_t total, std::size_t events, DeliverySource source,
                          Clock::time_point now, int first_result) {
  if (!start_.tls) return send(iov, total, events, source, now, first_result);
  std::string& records = reactor_.records_scratch();
  records.clear();
  if (!start_.tls->write(iov, total, records)) {
    spdlog::info("subscriber {} disconnected: TLS write failed: {}", start_.remote, start_.tls->error());
    close(End::client_gone);
    return false;
  }
  const iovec one = iov_of(records);
  const bool open = send(std::span<const iovec>(&one, 1), records.size(), events, source, now, SendRing::kNotSent);
  if (records.capacity() > kKeepRecordsCapacity) std::string().swap(records);  // pending_ has a copy
  return open;
}

bool SseConnection::send(std::span<const iovec> iov, std::size_t total, std::size_t events, DeliverySource source,
                         Clock::time_point now, int first_result) {
  // Sends from the first buffer with unsent bytes, OutboxChunk::kMaxIov buffers at a time.
  std::size_t first = 0;       // index of the first buffer not fully sent
  std::size_t first_done = 0;  // bytes of it already sent
  std::size_t sent = 0;
  bool would_block = false;
  while (sent < total) {
    ssize_t r = 0;
    int error = 0;
    if (first_result != SendRing::kNotSent) {
      // The first sendmsg, of the first kMaxIov buffers, was made in a batch (send_ring.hpp).
      r = first_result < 0 ? -1 : first_result;
      error = -first_result;
      first_result = SendRing::kNotSent;
    } else {
      iovec batch[OutboxChunk::kMaxIov];
      std::size_t n = 0;
      for (std::size_t i = first; i < iov.size() && n < OutboxChunk::kMaxIov; ++i, ++n) batch[n] = iov[i];
      batch[0].iov_base = static_cast<char*>(batch[0].iov_base) + first_done;
      batch[0].iov_len -= first_done;
      msghdr msg{};
      msg.msg_iov = batch;
      msg.msg_iovlen = n;
      r = ::sendmsg(fd(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      error = errno;
    }
    if (r < 0) {
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) {
        would_block = true;
        break;
      }
      close(End::client_gone);
      return false;
    }
    std::size_t left = static_cast<std::size_t>(r);
    sent += left;
    while (first < iov.size() && left >= iov[first].iov_len - first_done) {
      left -= iov[first].iov_len - first_done;
      ++first;
      first_done = 0;
    }
    first_done += left;
  }
  last_write_ = now;
  if (!would_block) {
    if (events > 0) reactor_.count_delivered(source, events);
    return true;
  }
  // Keep the rest: the peer is slow to read. Nothing more is taken from the outbox until it
  // is written, and it must be written within dispatch_timeout.
  for (std::size_t i = first; i < iov.size(); ++i) {
    const auto* base = static_cast<const char*>(iov[i].iov_base);
    const std::size_t skip = i == first ? first_done : 0;
    pending_.append(base + skip, iov[i].iov_len - skip);
  }
  pending_events_ = events;
  pending_source_ = source;
  pending_since_ = now;
  const auto timeout = settings().dispatch_timeout;
  if (timeout.count() > 0 && (!scheduled() || pending_since_ + timeout < deadline())) {
    reactor_.schedule(this, pending_since_ + timeout);
  }
  return true;
}

bool SseConnection::continue_pending(Clock::time_point now) {
  while (pending_offset_ < pending_.size()) {
    const ssize_t r =
        ::send(fd(), pending_.data() + pending_offset_, pending_.size() - pending_offset_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      close(End::client_gone);
      return false;
    }
    pending_offset_ += static_cast<std::size_t>(r);
  }
  last_write_ = now;
  if (pending_.capacity() > kKeepPendingCapacity) {
    std::string().swap(pending_);
  } else {
    pending_.clear();
  }
  pending_offset_ = 0;
  replies_pending_ = 0;
  if (pending_events_ > 0) {
    reactor_.count_delivered(pending_source_, pending_events_);
    pending_events_ = 0;
  }
  if (phase_ == Phase::finishing) {
    close(end_);
    return false;
  }
  reactor_.mark_dirty(this);  // what was pushed meanwhile, or the next replay step
  return true;
}

void SseConnection::flush(Clock::time_point now, bool batched) {
  if (phase_ != Phase::streaming) return;
  if (subscriber().overflowed()) {
    close(End::slow);  // cut off now, even when a write is stuck
    return;
  }
  if (!pending_.empty()) return;  // EPOLLOUT goes on with it
  if (start_.replay) {
    replay_step(now);
  } else {
    write_outbox(now, batched);
  }
}

void SseConnection::write_outbox(Clock::time_point now, bool batched) {
  if (!subscriber().has_pending()) return;
  OutboxChunk* chunk = batched ? reactor_.stage(this) : nullptr;
  const bool direct = chunk == nullptr;
  if (direct) chunk = &reactor_.direct_chunk();
  subscriber().take_pending(chunk->updates);
  chunk->build(settings().chunked);
  if (start_.tls && !chunk->seal(*start_.tls)) {
    spdlog::info("subscriber {} disconnected: TLS write failed: {}", start_.remote, start_.tls->error());
    close(End::client_gone);  // a staged chunk is then dropped by complete()
    if (direct) chunk->clear();
    return;
  }
  if (direct) complete(*chunk, SendRing::kNotSent, now);
}

void SseConnection::complete(OutboxChunk& chunk, int first_result, Clock::time_point now) {
  if (phase_ == Phase::closed) {
    chunk.clear();
    return;
  }
  if (chunk.sealed) {
    send(chunk.iov, chunk.total, chunk.updates.size(), DeliverySource::live, now, first_result);
  } else {
    write(chunk.iov, chunk.total, chunk.updates.size(), DeliverySource::live, now, first_result);
  }
  chunk.clear();  // pending_ holds a copy of anything unsent
}

void SseConnection::replay_step(Clock::time_point now) {
  auto& chunk = reactor_.chunk_scratch();
  chunk.clear();
  ReplayReader& replay = *start_.replay;
  const std::uint64_t sent_before = replay.sent();
  auto step = replay.step(subscriber(), chunk, kReplayEventsPerStep, kReplayBytesPerStep,
                          [this] { reactor_.mark_dirty(this); });
  if (!step) {
    close(end_of_failed_replay(step.error(), start_.remote));
    return;
  }
  if (*step == ReplayReader::Step::waiting) return;  // woken when the read ends
  const std::uint64_t events = replay.sent() - sent_before;
  if (*step == ReplayReader::Step::done) {
    // Every update stored up to the read was replayed or is buffered (the subscriber was
    // registered before it); the buffered ones already replayed are dropped by seq.
    subscriber().go_live(replay.cursor());
    start_.replay.reset();
  }
  if (!chunk.empty()) {
    iovec parts[3];
    std::size_t n = 0;
    std::size_t total = chunk.size();
    if (settings().chunked) {
      char* head = reactor_.chunk_head_scratch();
      const std::size_t h = format_chunk_head(head, chunk.size());
      parts[n++] = iovec{head, h};
      total += h + OutboxChunk::kCrlf.size();
    }
    parts[n++] = iov_of(chunk);
    if (settings().chunked) parts[n++] = iov_of(OutboxChunk::kCrlf);
    if (!write(std::span<const iovec>(parts, n), total, events, DeliverySource::history, now)) return;
  }
  // The next step (or the buffered live updates) after the shard's other connections.
  if (pending_.empty()) reactor_.mark_dirty(this);
}

void SseConnection::on_io(std::uint32_t events, Clock::time_point now) {
  if (phase_ == Phase::closed) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && !drain_input()) {
    close(End::client_gone);
    return;
  }
  if ((events & EPOLLOUT) != 0 && !pending_.empty()) continue_pending(now);
}

namespace {
// Incoming bytes are discarded: one scratch buffer per thread, none per subscriber.
thread_local char sink[4096];
}  // namespace

bool SseConnection::drain_input() {
  if (start_.tls) return drain_tls_input();
  std::size_t drained = 0;
  while (drained < kMaxDrain) {
    const ssize_t r = ::recv(fd(), sink, sizeof sink, MSG_DONTWAIT);
    if (r > 0) {
      drained += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

bool SseConnection::drain_tls_input() {
  TlsSession& tls = *start_.tls;
  std::size_t drained = 0;
  bool open = true;
  while (open && drained < kMaxDrain) {
    auto space = tls.input_space(sizeof sink);
    const ssize_t r = ::recv(fd(), space.data(), space.size(), MSG_DONTWAIT);
    const int error = errno;
    tls.commit_input(r > 0 ? static_cast<std::size_t>(r) : 0);
    if (r == 0) return false;
    if (r < 0) {
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) return false;
      break;
    }
    drained += static_cast<std::size_t>(r);
    open = process_tls_input();
  }
  if (open) tls.release_buffers();  // an idle stream keeps no input buffer
  return open;
}

bool SseConnection::process_tls_input() {
  TlsSession& tls = *start_.tls;
  std::string reply;  // records the session answers with (rare: a key update, an alert)
  for (;;) {
    std::size_t n = 0;
    const auto status = tls.read(sink, sizeof sink, n, reply);
    if (status == TlsSession::Status::ok) continue;
    if (status == TlsSession::Status::want_read) break;
    if (status == TlsSession::Status::failed) {
      spdlog::debug("subscriber {}: TLS error: {}", start_.remote, tls.error());
    }
    return false;  // the peer's closing alert, or a protocol error
  }
  if (reply.empty()) return true;
  if (pending_.empty()) {
    const iovec one = iov_of(reply);
    return send(std::span<const iovec>(&one, 1), reply.size(), 0, DeliverySource::live, Clock::now(),
                SendRing::kNotSent);
  }
  // After the records already waiting. A client that does not read what it is sent but keeps
  // asking for answers (key updates) is cut off rather than let grow what is kept for it.
  replies_pending_ += reply.size();
  if (replies_pending_ > kMaxPendingReplies) {
    close(End::slow);
    return false;
  }
  pending_.append(reply);
  return true;
}

void SseConnection::on_deadline(Clock::time_point now) {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::finishing) {
    close(end_);  // its last bytes were not taken in time
    return;
  }
  const auto& s = settings();
  if (!pending_.empty() && s.dispatch_timeout.count() > 0 && now >= pending_since_ + s.dispatch_timeout) {
    close(End::write_timeout);
    return;
  }
  if (s.token_expiry && now >= *s.token_expiry) {
    finish(End::token_expired, now);
    return;
  }
  if (s.end_of_life && now >= *s.end_of_life) {
    finish(End::lifetime, now);
    return;
  }
  // Nothing else to send: idle, or a replay waiting for its read (a distant store, a storm of
  // resumes) while buffered live updates wait for the replay.
  const bool quiet = start_.replay ? start_.replay->reading() : !subscriber().has_pending();
  if (s.heartbeat.count() > 0 && now >= last_write_ + s.heartbeat && pending_.empty() && quiet) {
    if (!write_bytes(s.chunked ? kHeartbeatChunk : kHeartbeat, now)) return;
  }
  schedule_next(now);
}

void SseConnection::schedule_next(Clock::time_point now) {
  if (phase_ != Phase::streaming) return;
  const auto& s = settings();
  auto at = Clock::time_point::max();
  if (s.heartbeat.count() > 0) at = last_write_ + s.heartbeat;
  if (s.token_expiry) at = std::min(at, *s.token_expiry);
  if (s.end_of_life) at = std::min(at, *s.end_of_life);
  if (!pending_.empty() && s.dispatch_timeout.count() > 0) at = std::min(at, pending_since_ + s.dispatch_timeout);
  if (at == Clock::time_point::max()) {
    reactor_.cancel_deadline(this);
    return;
  }
  reactor_.schedule(this, std::max(at, now + kRetry));
}

void SseConnection::finish(End why, Clock::time_point now) {
  if (phase_ != Phase::streaming) return;
  // What was pushed and not written yet goes out before the end.
  if (pending_.empty() && !start_.replay && !subscriber().overflowed()) {
    write_outbox(now, false);
    if (phase_ != Phase::streaming) return;
  }
  end_ = why;
  phase_ = Phase::finishing;
  // What ends the stream: the last chunk and, over TLS, the closing alert, after what is pending.
  std::string tail;
  if (start_.tls) {
    if (settings().chunked && !start_.tls->write(kLastChunk, tail)) {
      close(End::client_gone);
      return;
    }
    start_.tls->close(tail);
    alert_queued_ = true;
  } else if (settings().chunked) {
    tail = kLastChunk;
  }
  if (!tail.empty()) {
    if (pending_.empty()) {
      const iovec one = iov_of(tail);
      if (!send(std::span<const iovec>(&one, 1), tail.size(), 0, DeliverySource::live, now, SendRing::kNotSent)) {
        return;
      }
    } else {
      pending_.append(tail);
    }
  }
  if (pending_.empty()) {
    close(why);
    return;
  }
  const auto grace = settings().dispatch_timeout.count() > 0
                         ? std::chrono::duration_cast<Clock::duration>(settings().dispatch_timeout)
                         : std::chrono::duration_cast<Clock::duration>(kFinishGrace);
  reactor_.schedule(this, now + grace);
}

void SseConnection::close(End why, bool abandon) {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  end_ = why;
  Shard& shard = reactor_.shard();
  if (registered_) {
    shard.index().remove(start_.subscriber.get());
    registered_ = false;
    shard.metrics().subscriber_disconnected(shard.id(), why);
    if (settings().on_unregistered) settings().on_unregistered();
  }
  if (why == End::slow || why == End::write_timeout || why == End::history_failed) {
    spdlog::info("subscriber {} disconnected: {}", start_.remote, disconnect_reason_name(why));
  } else {
    spdlog::debug("subscriber {} disconnected: {}", start_.remote, disconnect_reason_name(why));
  }
  subscriber().set_wake({});
  if (start_.tls) {
    // The closing alert, when finish() did not queue it and nothing is left unsent before it
    // (best effort: not waited for).
    if (!alert_queued_ && pending_.empty() && why != End::client_gone) {
      std::string alert;
      start_.tls->close(alert);
      [[maybe_unused]] const ssize_t r = ::send(fd(), alert.data(), alert.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    start_.tls.reset();
  }
  ::shutdown(fd(), SHUT_RDWR);
  start_.socket.reset();  // also leaves the epoll set
  std::string().swap(pending_);
  start_.replay.reset();
  if (!abandon) reactor_.retire(this);
}

}  // namespace mercure
