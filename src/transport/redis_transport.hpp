#pragma once
// The cluster transport: every hub of a cluster appends its publishes to one Redis stream and
// reads the stream back, so each hub fans out every update of the cluster, in one global order
// (the stream's), and any hub can replay the history to a reconnecting subscriber.
//
// Writer thread: takes everything queued by publish() (up to max_batch) and sends it as one
// pipeline of the publish script (transport/redis_script.hpp: refuse an id already in the
// index, XADD, index the id, trim the oldest events beyond `size`, a bounded number per
// publish), then reads the replies in order. 409 for an id already stored and 503 when Redis
// refused or cannot be reached are acknowledged at once.
//
// Reader thread (from start_reading()): XREAD BLOCK from the last entry it read (the stream's
// end at construction), and for each entry calls every listener with the update, seq derived
// from the entry id. An
// update this hub published is delivered as the Update object it was given (recognised by the
// entry's origin field), then acknowledged: as with the LMDB transport, a publisher's 200 means
// the update is stored and this hub's subscribers have it, so a subscriber that connects after
// the 200 never receives it live (it asks the history). An update Redis stored that the reader
// has not met within kUnreadAckDelay (trimmed before it was read, or lost by a Redis restart
// without persistence) is acknowledged anyway. Updates of other hubs are decoded from the entry.
// After a lost connection the reader reconnects and reads on from the last entry it delivered,
// so live subscribers miss nothing the stream still holds. When the stream's ids go back below
// that entry (the stream deleted or recreated, a failover to a replica that missed entries:
// seen when an idle XREAD times out, or when the writer stores an update at or below it), the
// reader reads the stream again from its first entry: repeats are possible, losses are not.
// Listeners run on the reader thread: cheap and non-blocking. Durability is Redis's: stored
// means in Redis's memory (and, with appendfsync always, on its disk).
//
// Subscriptions across hubs (redis_nodes.cpp): subscription events also keep the cluster's
// list of active subscriptions in Redis (see redis_script.hpp), which a starting hub reads with
// its starting entry (take_initial_subscriptions()); each announced subscription comes with its
// end event, prepared. Every hub tells Redis it is alive every second; one that has not for
// `node_timeout` (killed, cut off) is taken for dead by the first other hub to notice, whose
// script appends the prepared end events of the dead hub's subscriptions to the stream (every
// hub then reads them as the dead hub's own).
//
// Thread-safety: every public member may be called from any thread. Entries read before a
// listener was added are not delivered to it (the hub adds its listeners, then starts reading).

#include "core/metrics.hpp"
#include "core/subscription.hpp"
#include "core/transport.hpp"
#include "core/uuid.hpp"
#include "transport/publish_queue.hpp"
#include "transport/redis_connection.hpp"
#include "transport/redis_history.hpp"
#include "transport/redis_options.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mercure {

class RedisTransport final : public Transport {
 public:
  // Connects, checks that the stream and index keys are free or of the right type, reads the
  // stream's last entry, and starts both threads. Throws StoreError (transport/lmdb_store.hpp)
  // naming the server when Redis cannot be reached or the keys hold something else.
  explicit RedisTransport(RedisOptions options, Metrics* metrics = nullptr);
  ~RedisTransport() override;
  RedisTransport(const RedisTransport&) = delete;
  RedisTransport& operator=(const RedisTransport&) = delete;

  void add_listener(Listener listener) override;
  // Starts the reader, from the entry read at construction: entries are delivered only to the
  // listeners added before (the subscriptions registry must see every event after its seed).
  // Until then nothing is delivered, and this hub's publishes are not acknowledged.
  void start_reading();
  void publish(NewUpdatePtr update, Done done) override;
  [[nodiscard]] History* history() override { return &history_; }
  // The reader delivers the entries after the one read at construction, in stream order. Those
  // it never delivers (trimmed before it read them, not a hub's) or delivers again (the stream
  // went back) only make a held replay wait for the next dispatch, or not wait.
  [[nodiscard]] std::optional<std::uint64_t> broadcast_from() const override { return start_seq_; }
  // False after close() and while Redis refuses or cannot be reached (an idle writer probes
  // it every second, so readiness comes back without a publisher).
  [[nodiscard]] bool writable() const override;
  // Idempotent: refuses new publishes, sends and acknowledges what is queued, stops the reader,
  // joins both threads.
  void close() override;

  [[nodiscard]] RedisHistory& store() { return history_; }

  // The subscriptions active in the cluster when this hub started reading the stream (once; the
  // second call returns nothing).
  [[nodiscard]] std::vector<Subscription> take_initial_subscriptions();
  // Called on the writer thread when this hub finds it is no longer listed among the hubs (it
  // was taken for dead while it stalled, or Redis lost its data): its subscriptions must be
  // announced again.
  void set_forgotten_handler(std::function<void()> handler);
  // Called on the reader thread when it reads the stream again from its first entry (see
  // above), or after this hub found itself no longer listed, with the subscriptions Redis then
  // lists: the registry starts again from them.
  void set_rewound_handler(std::function<void(std::vector<Subscription>)> handler);

 private:
  using Pending = PublishQueue::Pending;
  static constexpr const char* kWho = "redis transport";
  // Connect, read and write timeout of the writer's and the reader's connections.
  static constexpr std::chrono::milliseconds kTimeout{2000};
  // How often an idle writer probes Redis; the reader's longest pause between reconnections.
  static constexpr std::chrono::milliseconds kProbeInterval{1000};

  void write_loop();  // redis_transport.cpp
  void send_batch(std::vector<Pending>& batch);
  // Queues the publish script for `u` on the writer's connection (by its SHA1, or its text).
  void append_publish(const Update& u, std::uint64_t counter, bool by_sha);
  // Opens the writer's connection when it has none (or a broken one); false with `error` when
  // Redis cannot be reached.
  bool ensure_writer_connection(Error& error);
  // While failing: reconnects and PINGs; clears failing_ when Redis answers.
  void probe();
  // Logs transitions only: the first failure (with its cause) and the recovery.
  void set_failing(bool failing, const Error* cause);
  // The sign of life, and the end of a dead hub's subscriptions (redis_nodes.cpp).
  void beat();
  // "<id> <event record>" of the update ending the subscription `announced` announces.
  std::string end_event(const Update& announced);
  // This hub stops: taken for dead at once (writer thread, after the last batch).
  void stop_beating();
  void run_node_script(std::string_view timeout);
  void read_loop();  // redis_reader.cpp
  // Whether the stream's last generated id is below the last entry read (reader thread).
  bool stream_went_back(RedisConnection& connection);
  // Reads the stream again from its first entry (reader thread).
  void rewind();
  // Hands the subscriptions Redis lists to the rewound handler (reader thread).
  void resync();
  void deliver_entry(const redisReply& entry);
  // Sleeps up to `d` unless closing; true when closing.
  bool pause(std::chrono::milliseconds d);

  const RedisOptions options_;
  Metrics* const metrics_;
  const std::string node_;         // random, names this instance in the entries' origin field
  const std::string publish_sha_;  // of kRedisPublishScript
  // The scripts' keys and fixed arguments: the publish script's, then the node script's.
  const struct ScriptKeys {
    std::string index, subscriptions, ends, node_set, cap;
    std::string nodes, claim_hold, node_prefix, node_timeout_ms;
  } keys_;
  RedisHistory history_;
  // Listeners may be added while the reader runs: it holds this mutex while it delivers what one
  // XREAD returned.
  std::mutex listeners_mutex_;
  std::vector<Listener> listeners_;

  PublishQueue queue_;
  std::mutex pause_mutex_;  // with stopped_: wakes the reader from its reconnect pauses at close
  std::condition_variable stopped_;
  std::atomic<bool> stopping_{false};  // close() began: no more publishes
  std::atomic<bool> closed_{false};    // the reader stops
  std::atomic<bool> failing_{false};

  // A publish sent to Redis, until the reader meets its entry (or the writer learns it failed).
  struct Sent {
    NewUpdatePtr update;
    Done done;
    bool stored = false;  // Redis replied with an entry id
    std::chrono::steady_clock::time_point stored_at;
  };
  // Takes the entry of `counter` out of sent_; nullopt when it is not there.
  std::optional<Sent> take_sent(std::uint64_t counter);
  // Acknowledges stored publishes the reader has not met for kUnreadAckDelay (all when `all`).
  void acknowledge_unread(bool all);

  std::mutex sent_mutex_;
  std::condition_variable sent_changed_;                     // the reader took an entry (close() waits for them)
  std::map<std::uint64_t, Sent> sent_;                       // by publish counter
  std::uint64_t next_counter_ = 0;                           // writer thread only
  std::unique_ptr<RedisConnection> writer_connection_;       // writer thread only, after construction
  std::chrono::steady_clock::time_point reconnect_after_{};  // writer thread only
  Error last_connect_error_;                                 // writer thread only
  // The seq of the last entry the reader delivered; the writer sets went_back_ when Redis
  // stores one of its updates at or below it (the stream was recreated or failed over).
  std::atomic<std::uint64_t> read_seq_{0};
  std::atomic<bool> went_back_{false};
  std::atomic<bool> resync_{false};  // the writer found this hub unlisted: the reader resyncs

  std::string last_entry_;       // reader thread only, after construction
  std::uint64_t start_seq_ = 0;  // last_entry_'s seq at construction
  std::mutex reader_mutex_;      // guards reader_connection_ (interrupt() from close())
  std::unique_ptr<RedisConnection> reader_connection_;

  std::mutex subscriptions_mutex_;
  std::vector<Subscription> initial_subscriptions_;         // guarded by subscriptions_mutex_
  UuidGenerator uuids_;                                     // the ids of prepared end events
  std::function<void()> forgotten_;                         // guarded by subscriptions_mutex_
  std::function<void(std::vector<Subscription>)> rewound_;  // guarded by subscriptions_mutex_
  bool listed_ = false;                                     // writer thread: a beat went through

  std::mutex join_mutex_;
  std::thread writer_;
  std::thread reader_;
};

}  // namespace mercure
