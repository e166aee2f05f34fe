#pragma once
// One event stream after its response head: a small state machine driven by its shard's
// SseReactor, with no coroutine frame and no timer of its own. Its socket sits in the
// reactor's epoll set (edge-triggered); its deadlines (next heartbeat, token expiry, end of
// life, a write stuck past dispatch_timeout) are one entry in the reactor's deadline heap.
//
// On a TLS listener the stream goes on with the request's TlsSession: frames are encrypted
// into records just before they are sent (pending_ then holds records); a batched flush seals
// the connection's chunk before it joins the turn's send.
//
// Writing is direct: pending frames go out in one non-blocking sendmsg (one HTTP chunk) as
// soon as the reactor flushes the connection; only what the kernel did not take is copied
// aside, and no new frame is taken from the outbox until it is written (so the outbox limits
// still bound a stalled subscriber). The stream ends at the token's expiry, at its jittered
// lifetime, at shutdown (each with the last chunk), when a write stalls past
// dispatch_timeout, when the outbox overflows, when the history fails, or when the peer goes.
//
// Shard thread only.

#include "core/deadline_heap.hpp"
#include "core/metrics.hpp"
#include "http/send_ring.hpp"
#include "http/sse_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

struct iovec;

namespace mercure {

class SseReactor;
struct OutboxChunk;

class SseConnection final : public DeadlineEntry {
 public:
  using Clock = std::chrono::steady_clock;
  using End = DisconnectReason;

  SseConnection(SseReactor& reactor, SseStart start);
  ~SseConnection();
  SseConnection(const SseConnection&) = delete;
  SseConnection& operator=(const SseConnection&) = delete;

  [[nodiscard]] int fd() const { return start_.socket.get(); }
  [[nodiscard]] bool closed() const { return phase_ == Phase::closed; }

  // Registers the subscriber in the shard's index and writes the head plus a comment.
  void begin(Clock::time_point now);
  // epoll readiness (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
  void on_io(std::uint32_t events, Clock::time_point now);
  // The entry's deadline came: heartbeat, expiry, end of life, stalled write.
  void on_deadline(Clock::time_point now);
  // Marked dirty (something was pushed, or the next replay step is due): write what is pending.
  // `batched`: the outbox's frames may be staged in the reactor's batch instead of sent now.
  void flush(Clock::time_point now, bool batched);
  // The batched send of `chunk` (staged by flush) returned `first_result` (bytes or -errno;
  // SendRing::kNotSent = not attempted): finishes writing it.
  void complete(OutboxChunk& chunk, int first_result, Clock::time_point now);
  // Ends the stream with the last chunk, after what is pending (shutdown, expiry, lifetime).
  void finish(End why, Clock::time_point now);
  // Announces the stream's subscriptions again (the cluster's list lost them), when registered.
  void announce_again() {
    if (registered_ && settings().on_registered) settings().on_registered();
  }
  // Ends it at once; `abandon` skips the reactor (used while the reactor is destroyed).
  void close(End why, bool abandon = false);

  // Starts loading what flush() reads (the connection and its subscriber) into the cache.
  void prefetch() const {
    __builtin_prefetch(this);
    __builtin_prefetch(start_.subscriber.get());
  }

  // Reactor bookkeeping.
  bool dirty = false;
  std::size_t live_slot = 0;

 private:
  enum class Phase : std::uint8_t { streaming, finishing, closed };

  Subscriber& subscriber() { return *start_.subscriber; }
  const SseStreamSettings& settings() const { return start_.settings; }
  // Writes `iov` (`total` bytes of the response), as TLS records on a TLS connection.
  // `events` are counted as delivered from `source` once all of it is written. A
  // `first_result` other than SendRing::kNotSent is the result of the first sendmsg, already
  // made (only for plaintext: sealed TLS chunks are finished by send()). False when the
  // connection closed.
  bool write(std::span<const iovec> iov, std::size_t total, std::size_t events, DeliverySource source,
             Clock::time_point now, int first_result = SendRing::kNotSent);
  // Sends `iov` as it is: what the kernel does not take now is kept in pending_.
  bool send(std::span<const iovec> iov, std::size_t total, std::size_t events, DeliverySource source,
            Clock::time_point now, int first_result);
  bool write_bytes(std::string_view bytes, Clock::time_point now);
  // Writes more of pending_ (EPOLLOUT). False when the connection closed.
  bool continue_pending(Clock::time_point now);
  void write_outbox(Clock::time_point now, bool batched);
  void replay_step(Clock::time_point now);
  // Discards whatever the peer sent; false at end of file or on an error.
  bool drain_input();
  // TLS: reads, decrypts and discards; false at the peer's closing alert, end of file or an error.
  bool drain_tls_input();
  // TLS: decrypts and discards what the session was given, sending its answers; false when the
  // stream must end (closing alert, protocol error, too many answers kept for a stalled client).
  bool process_tls_input();
  void schedule_next(Clock::time_point now);

  SseReactor& reactor_;
  SseStart start_;
  Phase phase_ = Phase::streaming;
  bool registered_ = false;
  End end_ = End::shutdown;
  std::string pending_;  // bytes the kernel has not taken yet
  std::size_t pending_offset_ = 0;
  std::size_t pending_events_ = 0;   // events that pending_ completes
  std::size_t replies_pending_ = 0;  // TLS answers appended to pending_ since it was last empty
  bool alert_queued_ = false;        // TLS: finish() put the closing alert after the last chunk
  DeliverySource pending_source_ = DeliverySource::live;
  Clock::time_point pending_since_{};
  Clock::time_point last_write_{};
};

}  // namespace mercure
