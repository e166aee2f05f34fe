#pragma once
// A shard's event streams: owns every SseConnection of the shard and drives them with
//   - one epoll set of their sockets (edge-triggered), itself waited on through Asio, so an idle
//     stream costs no Asio descriptor state and no pending operation;
//   - one deadline heap and one Asio timer armed at its earliest entry (heartbeats, expiry,
//     end of life, stalled writes), at most kDeadlineBudget due entries handled per turn;
//   - a FIFO of dirty connections (something was pushed to them): flushed right after a
//     dispatch, at most kFlushBudget connections per turn of the event loop, so a fan-out to
//     many subscribers never holds the loop (and the publishers' acknowledgements) for long.
//     Updates that arrive while a fan-out is still going are written with it, one send per
//     subscriber. The sends of one turn are made together, in one system call, through a
//     SendRing (io_uring) when the kernel offers one and the `io_uring` option is on.
// Connections that close are kept until the end of the current turn (events already read
// from epoll may still name them), then destroyed.
//
// Shard thread only.

#include "core/deadline_heap.hpp"
#include "core/metrics.hpp"
#include "core/subscriber.hpp"
#include "http/outbox_chunk.hpp"
#include "http/send_ring.hpp"
#include "http/sse_stream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercure {

class Shard;
class SseConnection;

class SseReactor final {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::system_error when the epoll set cannot be created.
  SseReactor(boost::asio::io_context& io, Shard& shard);
  ~SseReactor();  // ends every stream still open (no last chunk: the event loop is gone)
  SseReactor(const SseReactor&) = delete;
  SseReactor& operator=(const SseReactor&) = delete;

  // Takes the stream over: registers the subscriber and writes the head.
  void open(SseStart start);
  // The server is stopping: every stream ends with its last chunk; once none is left the
  // reactor stops waiting, so the event loop can return.
  void shutdown_all();
  // Streams open (any thread: a drain watches it from the main thread).
  [[nodiscard]] std::size_t open_count() const { return open_count_.load(std::memory_order_relaxed); }
  // Every stream announces its subscriptions again (see SseConnection::announce_again).
  void announce_again();
  // Called after updates were pushed to subscribers: writes to the dirty connections now.
  void after_dispatch();

  // For the connections.
  [[nodiscard]] Shard& shard() { return shard_; }
  void mark_dirty(SseConnection* c);
  void schedule(SseConnection* c, Clock::time_point at);
  void cancel_deadline(SseConnection* c);
  void retire(SseConnection* c);  // c closed: destroyed at the end of this turn
  // Deliveries are counted here and reported to the metrics once per turn (one call, not one
  // per subscriber: after each send the metrics' cache lines are cold).
  void count_delivered(DeliverySource source, std::size_t events) {
    delivered_[static_cast<std::size_t>(source)] += events;
  }
  // A chunk for `c` in this turn's batched send, or nullptr when sends are not batched now
  // (the connection then writes directly_chunk() at once).
  OutboxChunk* stage(SseConnection* c);
  OutboxChunk& direct_chunk() { return direct_; }
  std::string& chunk_scratch() { return chunk_; }
  // The TLS records of the write being made (only used during one write call).
  std::string& records_scratch() { return records_; }
  // "<hex size>\r\n" of the chunk being written (only read during one write call).
  char* chunk_head_scratch() { return chunk_head_; }

 private:
  void arm_epoll();
  void on_epoll();
  void arm_timer();
  void on_timer();
  void run_flush(Clock::time_point now);
  // The ring, opened on first use (on the shard thread: it is bound to its submitter);
  // nullptr when off, unavailable or broken.
  SendRing* send_ring();
  // Sends what stage() collected and lets each connection finish its write.
  void send_staged(Clock::time_point now);
  void post_flush();
  void post_reap();
  // Posts `f` unless a post of it is pending (`posted` says so).
  template <class F>
  void post_once(bool& posted, F f);
  void reap();
  void stop_waiting_if_done();
  void report_delivered();

  boost::asio::io_context& io_;
  Shard& shard_;
  int epoll_fd_ = -1;
  boost::asio::posix::stream_descriptor epoll_;
  boost::asio::steady_timer timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();
  std::uint64_t timer_generation_ = 0;
  DeadlineHeap deadlines_;
  std::vector<std::unique_ptr<SseConnection>> live_;
  std::atomic<std::size_t> open_count_{0};  // live_.size(), for other threads
  std::vector<std::unique_ptr<SseConnection>> retired_;
  std::vector<SseConnection*> dirty_;
  std::size_t dirty_head_ = 0;
  bool epoll_armed_ = false;
  bool flush_posted_ = false;
  bool reap_posted_ = false;
  bool stopping_ = false;
  std::size_t delivered_[kDeliverySources] = {};
  std::unique_ptr<SendRing> ring_;
  bool ring_opened_ = false;
  bool batching_ = false;  // inside run_flush with a ring
  std::vector<OutboxChunk> staged_;
  std::size_t staged_count_ = 0;
  // Scratch space shared by the connections (one flush at a time).
  OutboxChunk direct_;
  std::string chunk_;
  std::string records_;
  char chunk_head_[20] = {};
};

}  // namespace mercure
