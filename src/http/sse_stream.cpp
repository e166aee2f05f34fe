#include "http/sse_stream.hpp"

#include "core/metrics.hpp"
#include "core/sse_frame.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kHeartbeatChunk = "2\r\n:\n\r\n";
constexpr std::string_view kHeartbeat = sse_heartbeat();
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kCrlf = "\r\n";

// Why a stream ended: the reasons counted by mercure_subscriber_disconnects_total.
using End = DisconnectReason;


// One replay step reads at most this much of the history before writing or yielding.
constexpr std::size_t kReplayEventsPerStep = 1024;
constexpr std::size_t kReplayBytesPerStep = 64 * 1024;

struct StreamState final : ShardConnection {
  StreamState(tcp::socket s, std::unique_ptr<Subscriber> sub, std::unique_ptr<HistoryReplay> r)
      : socket(std::move(s)),
        wake(socket.get_executor()),
        guard(socket.get_executor()),
        subscriber(std::move(sub)),
        replay(std::move(r)) {}

  void shutdown() override {
    stopping = true;
    wake.cancel();
  }

  tcp::socket socket;
  asio::steady_timer wake;   // the writer sleeps on it; cancel() = "something to do"
  asio::steady_timer guard;  // bounds one write to dispatch_timeout
  std::unique_ptr<Subscriber> subscriber;
  std::unique_ptr<HistoryReplay> replay;  // null once live
  bool stopping = false;
  Metrics* metrics = nullptr;  // reports as shard `shard_id`
  unsigned shard_id = 0;
  End end = End::shutdown;   // why the stream ended (a forced stop destroys it without a reason)
  char chunk_head[20] = {};  // "<hex size>\r\n" of the chunk being written
};

enum class WriteResult { ok, timeout, error };

// (A braced list inside co_await trips GCC 12's coroutine lowering; build the vector here.)
std::vector<asio::const_buffer> single(std::string_view bytes) {
  return std::vector<asio::const_buffer>(1, asio::buffer(bytes.data(), bytes.size()));
}

asio::awaitable<WriteResult> timed_write(StreamState* st, std::vector<asio::const_buffer> buffers,
                                         std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) {
    auto [ec, n] = co_await asio::async_write(st->socket, buffers, asio::as_tuple(asio::use_awaitable));
    co_return ec ? WriteResult::error : WriteResult::ok;
  }
  st->guard.expires_after(timeout);
  auto r = co_await (asio::async_write(st->socket, buffers, asio::as_tuple(asio::use_awaitable)) ||
                     st->guard.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return WriteResult::timeout;
  co_return std::get<0>(std::get<0>(r)) ? WriteResult::error : WriteResult::ok;
}

asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

// Reads (and discards) whatever the peer sends; completes when the peer closes or fails.
asio::awaitable<End> watch_peer(StreamState* st) {
  // Incoming bytes are discarded: one scratch buffer per thread, none per subscriber.
  thread_local char sink[256];
  for (;;) {
    auto [ec] = co_await st->socket.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return End::client_gone;
    boost::system::error_code rec;
    st->socket.read_some(asio::buffer(sink, sizeof sink), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) continue;
    if (rec) co_return End::client_gone;
  }
}

// Ends the chunked body cleanly so the client sees a complete response, then reports why.
asio::awaitable<End> finish(StreamState* st, SseStreamSettings s, End why) {
  if (s.chunked) co_await timed_write(st, single(kLastChunk), s.dispatch_timeout);
  co_return why;
}

std::vector<asio::const_buffer> chunk_buffers(StreamState* st, const std::string& data, bool chunked) {
  std::vector<asio::const_buffer> buffers;
  if (chunked) {
    int n = std::snprintf(st->chunk_head, sizeof st->chunk_head, "%zx\r\n", data.size());
    buffers.emplace_back(st->chunk_head, static_cast<std::size_t>(n));
  }
  buffers.emplace_back(asio::buffer(data));
  if (chunked) buffers.emplace_back(asio::buffer(kCrlf));
  return buffers;
}

// Sends the stored events after the resume point, a bounded slice at a time, then switches
// the subscriber to live in the same turn as the read that found the end of the store.
// Returns nullopt when the stream may go on live.
asio::awaitable<std::optional<End>> replay_history(StreamState* st, SseStreamSettings s, std::string remote) {
  std::string chunk;
  for (;;) {
    if (st->stopping) co_return End::shutdown;
    chunk.clear();
    const std::uint64_t sent_before = st->replay->sent();
    auto at_end = st->replay->step(*st->subscriber, chunk, kReplayEventsPerStep, kReplayBytesPerStep);
    if (!at_end) {
      spdlog::error("subscriber {}: history replay failed: {}", remote, at_end.error().reason);
      co_return End::history_failed;
    }
    const std::uint64_t events = st->replay->sent() - sent_before;
    if (*at_end) {
      // Synchronous with the read above: every update stored so far was replayed or is
      // buffered; the buffered ones already replayed are dropped by seq.
      st->subscriber->go_live(st->replay->cursor());
      st->replay.reset();
    }
    if (!chunk.empty()) {
      auto r = co_await timed_write(st, chunk_buffers(st, chunk, s.chunked), s.dispatch_timeout);
      if (r == WriteResult::ok) st->metrics->delivered(st->shard_id, DeliverySource::history, events);
      if (r == WriteResult::timeout) co_return End::write_timeout;
      if (r == WriteResult::error || co_await cancelled()) co_return End::client_gone;
    } else if (st->replay) {
      // A slice with nothing for this subscriber: let the shard's other connections run.
      auto executor = co_await asio::this_coro::executor;
      co_await asio::post(executor, asio::use_awaitable);
      if (co_await cancelled()) co_return End::client_gone;
    }
    if (!st->replay) co_return std::nullopt;
  }
}

asio::awaitable<End> write_loop(StreamState* st, std::string head, SseStreamSettings s, std::string remote) {
  const auto hb = s.heartbeat;
  {
    head.append(s.chunked ? kHeartbeatChunk : kHeartbeat);  // flush headers with a comment at once
    auto r = co_await timed_write(st, single(head), s.dispatch_timeout);
    if (r != WriteResult::ok) co_return r == WriteResult::timeout ? End::write_timeout : End::client_gone;
    std::string().swap(head);
  }
  if (st->replay) {
    if (auto end = co_await replay_history(st, s, std::move(remote))) co_return *end;
  }
  auto next_heartbeat = Clock::now() + hb;
  std::vector<UpdatePtr> batch;
  std::vector<asio::const_buffer> buffers;

  for (;;) {
    if (st->stopping) co_return co_await finish(st, s, End::shutdown);
    if (st->subscriber->overflowed()) co_return End::slow;
    if (st->subscriber->has_pending()) {
      st->subscriber->take_pending(batch);
      std::size_t total = 0;
      for (const auto& u : batch) total += u->frame.size();
      buffers.clear();
      if (s.chunked) {
        int n = std::snprintf(st->chunk_head, sizeof st->chunk_head, "%zx\r\n", total);
        buffers.emplace_back(st->chunk_head, static_cast<std::size_t>(n));
      }
      for (const auto& u : batch) buffers.emplace_back(asio::buffer(u->frame));
      if (s.chunked) buffers.emplace_back(asio::buffer(kCrlf));
      auto r = co_await timed_write(st, buffers, s.dispatch_timeout);
      if (r == WriteResult::ok) st->metrics->delivered(st->shard_id, DeliverySource::live, batch.size());
      batch.clear();
      if (r == WriteResult::timeout) co_return End::write_timeout;
      if (r == WriteResult::error || co_await cancelled()) co_return End::client_gone;
      next_heartbeat = Clock::now() + hb;
      continue;
    }

    auto deadline = Clock::time_point::max();
    if (hb.count() > 0) deadline = next_heartbeat;
    if (s.token_expiry) deadline = std::min(deadline, *s.token_expiry);
    if (s.end_of_life) deadline = std::min(deadline, *s.end_of_life);
    st->wake.expires_at(deadline);
    co_await st->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (co_await cancelled()) co_return End::client_gone;

    const auto now = Clock::now();
    if (s.token_expiry && now >= *s.token_expiry) co_return co_await finish(st, s, End::token_expired);
    if (s.end_of_life && now >= *s.end_of_life) co_return co_await finish(st, s, End::lifetime);
    if (hb.count() > 0 && now >= next_heartbeat && !st->subscriber->has_pending() && !st->stopping) {
      auto beat = s.chunked ? kHeartbeatChunk : kHeartbeat;
      auto r = co_await timed_write(st, single(beat), s.dispatch_timeout);
      if (r == WriteResult::timeout) co_return End::write_timeout;
      if (r == WriteResult::error) co_return End::client_gone;
      next_heartbeat = Clock::now() + hb;
    }
  }
}

}  // namespace

asio::awaitable<void> run_sse_stream(Shard* shard, tcp::socket socket, std::string head,
                                     std::unique_ptr<Subscriber> subscriber, std::unique_ptr<HistoryReplay> replay,
                                     SseStreamSettings settings, std::string remote) {
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  if (replay) subscriber->start_replay();  // buffer live updates from registration on
  StreamState st(std::move(socket), std::move(subscriber), std::move(replay));
  StreamState* raw = &st;
  st.metrics = &shard->metrics();
  st.shard_id = shard->id();
  st.subscriber->set_wake([raw] {
    raw->wake.cancel();
    if (raw->subscriber->overflowed()) {
      // Cut off now, even in the middle of a write that the peer does not drain.
      boost::system::error_code ec;
      raw->guard.cancel();
      raw->socket.cancel(ec);
    }
  });

  // Unregisters whatever ends the stream, including destruction of the frame at forced stop.
  struct Registration {
    Shard* shard;
    StreamState* st;
    const SseStreamSettings* settings;
    Registration(Shard* sh, StreamState* s, const SseStreamSettings* set) : shard(sh), st(s), settings(set) {
      shard->index().add(st->subscriber.get());
      shard->add_connection(st);
      shard->metrics().subscriber_connected(shard->id());
      if (settings->on_registered) settings->on_registered();
    }
    ~Registration() {
      shard->index().remove(st->subscriber.get());
      shard->remove_connection(st);
      shard->metrics().subscriber_disconnected(shard->id(), st->end);
      if (settings->on_unregistered) settings->on_unregistered();
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
  } registration(shard, raw, &settings);

  if (shard->stopping()) co_return;
  auto r = co_await (write_loop(raw, std::move(head), settings, remote) || watch_peer(raw));
  End why = r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
  if (st.subscriber->overflowed()) why = End::slow;  // whichever branch the cancel ended first
  st.end = why;
  if (why == End::slow || why == End::write_timeout || why == End::history_failed) {
    spdlog::info("subscriber {} disconnected: {}", remote, disconnect_reason_name(why));
  } else {
    spdlog::debug("subscriber {} disconnected: {}", remote, disconnect_reason_name(why));
  }
  st.socket.shutdown(tcp::socket::shutdown_both, ignored);
  st.socket.close(ignored);
}

}  // namespace mercure
