#pragma once
// One shard = one event loop on one thread with its own SO_REUSEPORT acceptor. A connection
// accepted by a shard stays on it, unless another shard serves fewer connections (past a slack,
// see shard_balance.hpp): then it is handed over once, before anything is read from it. The
// shard owns its subscribers and their index, so the fan-out path takes no lock: an update
// crosses into a shard with one post().

#include "core/admission.hpp"
#include "core/subscriber_index.hpp"
#include "core/verified_token_cache.hpp"
#include "http/dispatch_progress.hpp"
#include "http/key_set_wait.hpp"
#include "http/server_options.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace mercure {

class Hub;
class Authorizer;
class SseReactor;
class MemoryTrimmer;
class ResponseBatch;
class HistoryReaders;
class Metrics;
class MetricsSource;

// A live connection the shard can tell to end at shutdown. Shard thread only.
class ShardConnection {
 public:
  virtual void shutdown() = 0;
  // The first half of a graceful stop: no new request, those under way and the connection's
  // event streams go on (an HTTP/2 connection's: GOAWAY, closed once its streams have ended).
  virtual void drain() { shutdown(); }
  // The connection's event streams announce their subscriptions again (HTTP/2 connections).
  virtual void announce_again() {}

 protected:
  ~ShardConnection() = default;
};

class Shard final {
 public:
  // `metrics_page`: what GET /metrics serves on this listener; nullptr = not served here.
  // `admission`: the limits shared by every shard (thread-safe); outlives the shard.
  Shard(unsigned id, const ServerOptions& options, Hub& hub, const Authorizer& authorizer, Metrics& metrics,
        const MetricsSource* metrics_page, Admission& admission);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Start-up (main thread): binds with SO_REUSEPORT; throws boost::system::system_error.
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Every shard of the server, this one included, in id order: where accepted connections may
  // be handed over. Set before start().
  void set_peers(std::vector<Shard*> peers) { peers_ = std::move(peers); }
  void start();  // spawns the shard thread

  // Thread-safe.
  void deliver(std::shared_ptr<const Update> update);
  void request_stop();  // stop accepting, end every stream and connection
  // Stop accepting and end every connection but the HTTP/1.1 event streams, which go on until
  // their own end of life (write_timeout, the token's exp) or request_stop(). Returns once the
  // shard thread has closed its listener (call it from another thread, while the shard runs).
  void begin_drain();
  // HTTP/1.1 event streams open on this shard.
  [[nodiscard]] std::size_t open_streams() const;
  // Every event stream of the shard announces its subscriptions again (a shared transport lost
  // the cluster's list of them).
  void announce_subscriptions_again();
  void force_stop();  // stop the event loop now
  // Waits until the event loop has returned or `deadline` passed; true when it returned.
  bool wait_finished(std::chrono::steady_clock::time_point deadline);
  void join();

  // Shard thread only.
  [[nodiscard]] unsigned id() const { return id_; }
  [[nodiscard]] bool stopping() const { return stopping_; }  // from begin_drain() or request_stop()
  // request_stop() ended the event streams: none may begin (a drain keeps them, and takes new ones).
  [[nodiscard]] bool streams_stopped() const { return streams_stopped_; }
  [[nodiscard]] const ServerOptions& options() const { return options_; }
  [[nodiscard]] Hub& hub() { return hub_; }
  [[nodiscard]] const Authorizer& authorizer() const { return authorizer_; }
  // Report with id() as the shard (see core/metrics.hpp).
  [[nodiscard]] Metrics& metrics() const { return metrics_; }
  [[nodiscard]] const MetricsSource* metrics_page() const { return metrics_page_; }
  [[nodiscard]] SubscriberIndex& index() { return index_; }
  [[nodiscard]] Admission& admission() { return admission_; }
  // Tokens this shard already verified, per role (see core/verified_token_cache.hpp).
  [[nodiscard]] VerifiedTokenCache& publisher_tokens() { return publisher_tokens_; }
  [[nodiscard]] VerifiedTokenCache& subscriber_tokens() { return subscriber_tokens_; }
  // Requests waiting for a key set fetch (an unknown kid, see key_set_wait.hpp).
  [[nodiscard]] KeySetWaits& key_set_waits() { return key_set_waits_; }
  [[nodiscard]] boost::asio::io_context& io() { return io_; }
  // Where reads of a history that blocks (Redis) run, or nullptr (see replay_reader.hpp). Set
  // before start().
  [[nodiscard]] HistoryReaders* history_readers() const { return history_readers_; }
  void set_history_readers(HistoryReaders* readers) { history_readers_ = readers; }
  // How far this shard dispatched the transport's updates (see dispatch_progress.hpp).
  [[nodiscard]] DispatchProgress& dispatch_progress() { return dispatch_progress_; }
  // The shard's event streams (see sse_reactor.hpp).
  [[nodiscard]] SseReactor& streams() { return *streams_; }
  // The HTTP/1.1 responses sent together (see response_batch.hpp).
  [[nodiscard]] ResponseBatch& responses() { return *responses_; }
  void add_connection(ShardConnection* c) { connections_.insert(c); }
  void remove_connection(ShardConnection* c) { connections_.erase(c); }
  // A connection's request phase or an event stream ended (see memory_trimmer.hpp).
  void connection_memory_freed();
  // A connection counted open (the metrics') ended; `counted_open` false: one the shard was
  // given that ended before it was counted open (refused, or gone at once).
  void connection_ended(bool counted_open = true);
  // An HTTP/2 event stream began or ended (the reactor counts HTTP/1.1's), for open_streams().
  void h2_stream_opened() { h2_streams_.fetch_add(1, std::memory_order_relaxed); }
  void h2_stream_closed() { h2_streams_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  // Shard thread: closes the listener, and drains or shuts down the live connections.
  void stop_requests(bool drain);
  boost::asio::awaitable<void> accept_loop();
  // The shard to serve a connection this one accepted (itself or the least loaded peer); counts
  // the connection on it.
  Shard& assign_connection();
  // Shard thread: serves a connection accepted by another shard (`fd`: its descriptor).
  void adopt(int fd);
  void dispatch_inbox();

  unsigned id_;
  const ServerOptions& options_;
  Hub& hub_;
  const Authorizer& authorizer_;
  Metrics& metrics_;
  const MetricsSource* metrics_page_;
  Admission& admission_;
  // Declared before io_: coroutine frames destroyed with io_ still unregister from these.
  SubscriberIndex index_;
  VerifiedTokenCache publisher_tokens_;
  VerifiedTokenCache subscriber_tokens_;
  KeySetWaits key_set_waits_;
  std::unordered_set<ShardConnection*> connections_;
  // Connections this shard serves: counted when a shard's accept loop assigns one to it,
  // uncounted when it ends (connection_ended). Read by every shard's accept loop.
  std::atomic<std::size_t> load_{0};
  std::atomic<std::size_t> h2_streams_{0};  // HTTP/2 event streams open (read by the drain)
  // Set by the destructor: frames destroyed with io_ no longer reach members destroyed before
  // it (trimmer_).
  bool tearing_down_ = false;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  // Declared after io_: destroyed first, while the event loop's objects still exist.
  std::unique_ptr<SseReactor> streams_;
  std::unique_ptr<MemoryTrimmer> trimmer_;
  // Last: its staged responses hold suspended connections, destroyed before everything above.
  std::unique_ptr<ResponseBatch> responses_;
  bool stopping_ = false;         // no new connection nor request (a drain or the stop)
  bool streams_stopped_ = false;  // request_stop() ended the event streams too
  HistoryReaders* history_readers_ = nullptr;
  DispatchProgress dispatch_progress_;
  std::vector<Shard*> peers_;
  std::vector<std::size_t> peer_loads_;  // accept loop only: the peers' counts when choosing
  boost::asio::ip::tcp listen_protocol_ = boost::asio::ip::tcp::v4();
  // Updates handed over by the transport, dispatched together in one turn of the event loop
  // (one post per burst, and one write per subscriber for the whole burst).
  std::mutex inbox_mutex_;
  std::vector<std::shared_ptr<const Update>> inbox_;
  std::vector<std::shared_ptr<const Update>> inbox_spare_;
  std::mutex finished_mutex_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
  std::thread thread_;
};

}  // namespace mercure
