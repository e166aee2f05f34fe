#include "http/shard.hpp"

#include "core/metrics.hpp"
#include "http/connection.hpp"
#include "http/memory_trimmer.hpp"
#include "http/response_batch.hpp"
#include "http/shard_balance.hpp"
#include "http/sse_reactor.hpp"
#include "http/unique_fd.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <future>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("connection task failed: {}", ex.what());
  }
}
}  // namespace

Shard::Shard(unsigned id, const ServerOptions& options, Hub& hub, const Authorizer& authorizer, Metrics& metrics,
             const MetricsSource* metrics_page, Admission& admission)
    : id_(id),
      options_(options),
      hub_(hub),
      authorizer_(authorizer),
      metrics_(metrics),
      metrics_page_(metrics_page),
      admission_(admission),
      acceptor_(io_),
      streams_(std::make_unique<SseReactor>(io_, *this)),
      trimmer_(std::make_unique<MemoryTrimmer>(io_)),
      responses_(std::make_unique<ResponseBatch>(io_, options.io_uring, id)) {}

Shard::~Shard() {
  key_set_waits_.unlisten();  // the fetchers may run on: no more posts to io_ from them
  if (thread_.joinable()) {
    force_stop();
    thread_.join();
  }
  // Connections still suspended in io_ (a request waiting for a history read when the loop was
  // forced to stop) are destroyed with it, after trimmer_ and streams_.
  tearing_down_ = true;
}

void Shard::listen(const tcp::endpoint& endpoint) {
  listen_protocol_ = endpoint.protocol();
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.set_option(ReusePort(true));
  if (endpoint.protocol() == tcp::v6()) {
    boost::system::error_code ignored;
    acceptor_.set_option(asio::ip::v6_only(false), ignored);
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint Shard::local_endpoint() const {
  return acceptor_.local_endpoint();
}

void Shard::start() {
  key_set_waits_.start(io_, authorizer_);
  asio::co_spawn(io_, accept_loop(), log_exception);
  thread_ = std::thread([this] {
    // An exception out of a completion handler (a library throwing where it should report an
    // error) unwinds that one operation; the event loop, and every other connection of the
    // worker, goes on (Asio allows run() again after a handler threw).
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        spdlog::error("worker {}: a completion handler failed, the event loop goes on: {}", id_, e.what());
      }
    }
    {
      std::lock_guard lock(finished_mutex_);
      finished_ = true;
    }
    finished_cv_.notify_all();
  });
}

asio::awaitable<void> Shard::accept_loop() {
  asio::steady_timer backoff(io_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopping_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or a transient failure: say so and breathe instead of spinning.
      spdlog::warn("worker {} accept failed: {}", id_, ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    Shard& target = assign_connection();
    if (&target == this) {
      asio::co_spawn(io_, serve_connection(this, std::move(socket)), log_exception);
      continue;
    }
    // Out of this event loop (its registration removed), into the other's.
    boost::system::error_code release_ec;
    UniqueFd fd(socket.release(release_ec));
    if (release_ec) {
      spdlog::warn("worker {} could not hand a connection over to worker {}: {}", id_, target.id_,
                   release_ec.message());
      target.connection_ended(false);
      continue;  // the socket closes
    }
    // Not run if the other event loop stopped first: the descriptor is closed with the handler.
    asio::post(target.io_, [&target, fd = std::move(fd)]() mutable { target.adopt(fd.release()); });
  }
}

Shard& Shard::assign_connection() {
  Shard* target = this;
  if (peers_.size() > 1) {
    peer_loads_.resize(peers_.size());
    for (std::size_t i = 0; i < peers_.size(); ++i) peer_loads_[i] = peers_[i]->load_.load(std::memory_order_relaxed);
    target = peers_[pick_shard(id_, peer_loads_)];
  }
  target->load_.fetch_add(1, std::memory_order_relaxed);
  return *target;
}

void Shard::adopt(int fd) {
  tcp::socket socket(io_);
  boost::system::error_code ec;
  socket.assign(listen_protocol_, fd, ec);
  if (ec) {
    ::close(fd);
    spdlog::warn("worker {} could not take over a connection: {}", id_, ec.message());
  }
  if (ec || stopping_) {
    connection_ended(false);
    return;  // the socket closes
  }
  asio::co_spawn(io_, serve_connection(this, std::move(socket)), log_exception);
}

void Shard::connection_ended(bool counted_open) {
  load_.fetch_sub(1, std::memory_order_relaxed);
  if (counted_open) metrics_.connection_closed(id_);
}

void Shard::deliver(std::shared_ptr<const Update> update) {
  bool first = false;
  {
    std::lock_guard lock(inbox_mutex_);
    first = inbox_.empty();
    inbox_.push_back(std::move(update));
  }
  // Posted twice: the acknowledgements the transport posts right after this delivery (to the
  // publishers of this burst) run before the fan-out, so a POST never waits for it.
  if (first) asio::post(io_, [this] { asio::post(io_, [this] { dispatch_inbox(); }); });
}

void Shard::dispatch_inbox() {
  responses_->send_staged();  // the acknowledgements of the burst go before its fan-out
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_spare_.swap(inbox_);
  }
  if (!streams_stopped_) {  // draining streams still get their updates
    for (const auto& u : inbox_spare_) index_.dispatch(u);
  }
  if (!inbox_spare_.empty()) dispatch_progress_.dispatched(inbox_spare_.back()->seq);
  inbox_spare_.clear();
  streams_->after_dispatch();
}

void Shard::stop_requests(bool drain) {
  if (!stopping_) {
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }
  // A request waiting for a key set fetch (5 s at most) is answered when it ends; stopping does
  // not wait for it (a draining hub does: the token may be valid).
  if (!drain) key_set_waits_.close();
  // shutdown() may remove the connection from the set: iterate over a copy. After a drain, the
  // stop shuts down what the drain left (HTTP/2 connections still serving event streams).
  std::vector<ShardConnection*> live(connections_.begin(), connections_.end());
  for (ShardConnection* c : live) {
    if (drain) {
      c->drain();
    } else {
      c->shutdown();
    }
  }
}

void Shard::begin_drain() {
  // Waited for: once it returns the listener is closed (a connection attempt is refused).
  auto done = std::make_shared<std::promise<void>>();
  auto closed = done->get_future();
  asio::post(io_, [this, done] {
    stop_requests(true);
    done->set_value();
  });
  // Bounded: a shard that does not answer (its loop stalled) is ended by the stop after the drain.
  if (closed.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    spdlog::warn("worker {} did not close its listener within 5 s", id_);
  }
}

std::size_t Shard::open_streams() const {
  return streams_->open_count() + h2_streams_.load(std::memory_order_relaxed);
}

void Shard::request_stop() {
  asio::post(io_, [this] {
    if (streams_stopped_) return;
    stop_requests(false);
    streams_stopped_ = true;
    streams_->shutdown_all();
    trimmer_->stop();
  });
}

void Shard::announce_subscriptions_again() {
  asio::post(io_, [this] {
    if (streams_stopped_) return;
    streams_->announce_again();
    for (ShardConnection* c : connections_) c->announce_again();
  });
}

void Shard::connection_memory_freed() {
  if (!tearing_down_) trimmer_->connection_memory_freed();
}

void Shard::force_stop() {
  io_.stop();
}

bool Shard::wait_finished(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(finished_mutex_);
  return finished_cv_.wait_until(lock, deadline, [this] { return finished_; });
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace mercure
