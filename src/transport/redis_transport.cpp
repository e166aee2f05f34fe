#include "transport/redis_transport.hpp"

#include "core/sse_frame.hpp"
#include "transport/event_record.hpp"
#include "transport/lmdb_store.hpp"
#include "transport/redis_entry.hpp"
#include "transport/redis_script.hpp"
#include "transport/url_query.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <random>
#include <utility>

namespace mercure {

namespace {

// A stored publish the reader has not read back after this long is acknowledged anyway.
constexpr std::chrono::seconds kUnreadAckDelay{5};
// At close, how long the reader may take to read back what the writer stored last.
constexpr std::chrono::seconds kCloseReadBackLimit{2};

std::string random_node_name() {
  std::random_device device;
  const std::uint64_t r = (std::uint64_t{device()} << 32) ^ device();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(i)] = kHex[(r >> (4 * i)) & 15];
  return out;
}

// Checks that `key` is free or holds a `type`; throws StoreError otherwise.
void expect_type(RedisConnection& c, const RedisOptions& o, const std::string& key, std::string_view type) {
  const std::string_view args[] = {"TYPE", key};
  auto reply = c.command(args);
  if (!reply) throw StoreError(reply.error().reason);
  const std::string_view found = reply_text(**reply);
  if (reply_is_error(**reply)) throw StoreError("redis " + o.describe() + ": TYPE " + key + ": " + std::string(found));
  if (found != "none" && found != type) {
    throw StoreError("redis " + o.describe() + ": key \"" + key + "\" holds a " + std::string(found) + ", not a " +
                     std::string(type) + " (choose another stream name with ?stream=)");
  }
}

}  // namespace

RedisTransport::RedisTransport(RedisOptions options, Metrics* metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      node_(random_node_name()),
      publish_sha_(redis_script_sha(kRedisPublishScript)),
      keys_{options_.index_key(),
            options_.subscriptions_key(),
            options_.subscription_ends_key(),
            options_.node_key_prefix() + node_,
            std::to_string(options_.size),
            options_.nodes_key(),
            options_.claim_hold_key(),
            options_.node_key_prefix(),
            std::to_string(std::chrono::milliseconds(options_.node_timeout).count())},
      history_(options_) {
  auto opened = RedisConnection::open(options_, kTimeout);
  if (!opened) throw StoreError(opened.error().reason);
  expect_type(**opened, options_, options_.stream, "stream");
  expect_type(**opened, options_, options_.index_key(), "hash");
  expect_type(**opened, options_, options_.subscriptions_key(), "hash");
  expect_type(**opened, options_, options_.subscription_ends_key(), "hash");
  expect_type(**opened, options_, options_.nodes_key(), "zset");
  // Where to read from, and the subscriptions active as of that entry, in one atomic step.
  const std::string_view start[] = {"EVAL", kRedisStartScript, "2", options_.stream, keys_.subscriptions};
  auto reply = (*opened)->command(start);
  if (!reply) throw StoreError(reply.error().reason);
  const redisReply& both = **reply;
  if (both.type != REDIS_REPLY_ARRAY || both.elements != 2 || both.element[0]->type != REDIS_REPLY_ARRAY ||
      both.element[1]->type != REDIS_REPLY_ARRAY) {
    throw StoreError("redis " + options_.describe() +
                     ": reading the stream's last entry failed: " + std::string(reply_text(both)));
  }
  const redisReply& entries = *both.element[0];
  initial_subscriptions_ = active_subscriptions(*both.element[1]);
  last_entry_ = "0-0";
  if (entries.elements > 0) {
    // Whoever wrote the newest entry, its id must order (seq) for this hub to follow the stream.
    const std::string_view id = raw_entry_id(*entries.element[0]);
    auto seq = seq_from_entry_id(id);
    if (!seq) {
      throw StoreError("redis " + options_.describe() + ": stream \"" + options_.stream + "\": " + seq.error().reason);
    }
    last_entry_ = std::string(id);
    start_seq_ = *seq;
  }
  if (options_.size != 0 && options_.size < 10 * options_.max_batch) {
    spdlog::warn(
        "redis transport: size {} is small: a hub that falls more than {} events behind the stream "
        "misses live updates (trimmed before it read them)",
        options_.size, options_.size);
  }
  writer_connection_ = std::move(*opened);
  beat();  // listed among the hubs before it announces any subscription
  writer_ = std::thread([this] { write_loop(); });
}

void RedisTransport::start_reading() {
  std::lock_guard join(join_mutex_);
  if (reader_.joinable() || closed_.load()) return;
  reader_ = std::thread([this] { read_loop(); });
}

RedisTransport::~RedisTransport() {
  close();
}

void RedisTransport::add_listener(Listener listener) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.push_back(std::move(listener));
}

void RedisTransport::publish(NewUpdatePtr update, Done done) {
  queue_.submit(kWho, std::move(update), std::move(done));
}

bool RedisTransport::writable() const {
  return !stopping_.load() && !failing_.load();
}

void RedisTransport::close() {
  stopping_.store(true);
  queue_.close();
  std::lock_guard join(join_mutex_);
  const auto self = std::this_thread::get_id();
  // The writer sends what is queued, then the reader reads it back (bounded), then it stops.
  if (writer_.joinable() && writer_.get_id() != self) writer_.join();
  {
    std::unique_lock lock(sent_mutex_);
    sent_changed_.wait_for(lock, kCloseReadBackLimit, [&] { return sent_.empty(); });
  }
  {
    std::lock_guard lock(pause_mutex_);  // pause() waits under it
    closed_.store(true);
  }
  stopped_.notify_all();
  {
    std::lock_guard lock(reader_mutex_);
    if (reader_connection_) reader_connection_->interrupt();
  }
  if (reader_.joinable() && reader_.get_id() != self) reader_.join();
  acknowledge_unread(true);
}

std::optional<RedisTransport::Sent> RedisTransport::take_sent(std::uint64_t counter) {
  std::lock_guard lock(sent_mutex_);
  auto it = sent_.find(counter);
  if (it == sent_.end()) return std::nullopt;
  Sent taken = std::move(it->second);
  sent_.erase(it);
  sent_changed_.notify_all();
  return taken;
}

void RedisTransport::acknowledge_unread(bool all) {
  std::vector<Done> due;
  const auto limit = std::chrono::steady_clock::now() - kUnreadAckDelay;
  {
    std::lock_guard lock(sent_mutex_);
    for (auto it = sent_.begin(); it != sent_.end();) {
      if (it->second.stored && (all || it->second.stored_at <= limit)) {
        due.push_back(std::move(it->second.done));
        it = sent_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (due.empty()) return;
  spdlog::warn("redis transport: {} update(s) stored in Redis were not read back by this hub{}; acknowledged",
               due.size(), all ? " before it stopped" : " within 5 s");
  for (auto& done : due) call_quietly(kWho, "publish acknowledgement", done, Result<void>{});
}

std::string RedisTransport::end_event(const Update& announced) {
  Update ended;
  ended.id = uuids_.next();
  ended.topics = announced.topics;
  Subscription s = *announced.subscription;
  s.active = false;
  ended.data = subscription_json(s, true);
  ended.is_private = true;
  ended.frame = make_sse_frame(ended);
  return ended.id + ' ' + encode_event_record(ended);
}

bool RedisTransport::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(pause_mutex_);
  return stopped_.wait_for(lock, d, [&] { return closed_.load(); });
}

void RedisTransport::set_failing(bool failing, const Error* cause) {
  if (failing) {
    if (!failing_.exchange(true)) spdlog::error("redis transport: publishing fails: {}", cause->reason);
  } else if (failing_.exchange(false)) {
    spdlog::info("redis transport: {} takes publishes again", options_.describe());
    notify_writable();
  }
}

bool RedisTransport::ensure_writer_connection(Error& error) {
  if (writer_connection_ && writer_connection_->idle_and_open()) return true;
  writer_connection_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (now < reconnect_after_) {
    // Failed less than a second ago: answer at once instead of waiting for another connect.
    error = last_connect_error_;
    return false;
  }
  auto opened = RedisConnection::open(options_, kTimeout);
  if (!opened) {
    reconnect_after_ = std::chrono::steady_clock::now() + kProbeInterval;
    last_connect_error_ = opened.error();
    error = opened.error();
    return false;
  }
  writer_connection_ = std::move(*opened);
  return true;
}

void RedisTransport::probe() {
  Error error;
  if (!ensure_writer_connection(error)) {
    set_failing(true, &error);
    return;
  }
  // A write, so that a Redis refusing writes (OOM, a read-only replica) stays not ready.
  const std::string key = options_.stream + ":probe";
  const std::string_view set[] = {"SET", key, node_, "PX", "5000"};
  auto reply = writer_connection_->command(set);
  if (!reply) {
    const Error lost = reply.error();
    set_failing(true, &lost);
  } else if (reply_is_error(**reply)) {
    const Error cause{Errc::unavailable, "redis " + options_.describe() + ": " + std::string(reply_text(**reply))};
    set_failing(true, &cause);
  } else {
    set_failing(false, nullptr);
  }
}

void RedisTransport::write_loop() {
  std::vector<Pending> batch;
  auto last_sweep = std::chrono::steady_clock::now();
  for (;;) {
    // Idle, the writer wakes every second: to probe a failing Redis, and to acknowledge stored
    // publishes the reader did not read back.
    const auto taken = queue_.take(batch, options_.max_batch, kProbeInterval);
    if (taken == PublishQueue::Taken::drained) break;  // closing, and everything queued was sent
    if (taken == PublishQueue::Taken::timeout) {
      // Also when idle: readiness follows Redis without waiting for a publish to fail.
      if (failing_.load() || !writer_connection_ || !writer_connection_->idle_and_open()) probe();
      acknowledge_unread(false);
      beat();
      last_sweep = std::chrono::steady_clock::now();
      continue;
    }
    send_batch(batch);
    batch.clear();
    if (const auto now = std::chrono::steady_clock::now(); now - last_sweep >= kProbeInterval) {
      last_sweep = now;  // also under a load that never lets the writer idle
      acknowledge_unread(false);
      beat();
    }
  }
  // Everything queued was sent (this hub's departing subscribers included): the others take
  // what this hub still listed for ended at their next beat.
  stop_beating();
  writer_connection_.reset();
}

void RedisTransport::append_publish(const Update& u, std::uint64_t counter, bool by_sha) {
  const std::string record = encode_event_record(u);
  const std::string origin = node_ + ":" + std::to_string(counter);
  const std::string subscription = u.subscription ? encode_subscription(*u.subscription) : std::string();
  const std::string_view subscription_id =
      u.subscription && !u.topics.empty() ? std::string_view(u.topics.front()) : std::string_view();
  const std::string end = u.subscription && u.subscription->active ? end_event(u) : std::string();
  const std::string_view args[] = {by_sha ? "EVALSHA" : "EVAL",
                                   by_sha ? std::string_view(publish_sha_) : kRedisPublishScript,
                                   "5",
                                   options_.stream,
                                   keys_.index,
                                   keys_.subscriptions,
                                   keys_.node_set,
                                   keys_.ends,
                                   u.id,
                                   keys_.cap,
                                   record,
                                   origin,
                                   subscription,
                                   subscription_id,
                                   end};
  writer_connection_->append(args);
}

void RedisTransport::send_batch(std::vector<Pending>& batch) {
  Error unreachable;
  if (!ensure_writer_connection(unreachable)) {
    set_failing(true, &unreachable);
    for (auto& p : batch) call_quietly(kWho, "publish acknowledgement", p.done, Result<void>(unreachable));
    return;
  }
  std::vector<std::uint64_t> counters;
  std::vector<std::string> ids;  // for messages: the updates now belong to sent_ (and the reader)
  counters.reserve(batch.size());
  ids.reserve(batch.size());
  for (auto& p : batch) {
    const std::uint64_t counter = ++next_counter_;
    counters.push_back(counter);
    ids.push_back(p.update->id);
    // By the script's SHA1: 1.3 KB less to send, and for Redis to hash, per publish.
    append_publish(*p.update, counter, true);
    std::lock_guard lock(sent_mutex_);
    sent_.emplace(counter, Sent{std::move(p.update), std::move(p.done)});
  }
  std::size_t accepted = 0;
  std::vector<std::size_t> unknown_script;  // NOSCRIPT: not run, sent again with the script
  const auto settle = [&](std::size_t i, Result<RedisReplyPtr>& reply) {
    Error error;
    if (!reply) {
      error = reply.error();
      set_failing(true, &error);
      error = Error{Errc::unavailable, "history store unavailable"};
    } else if (reply_is_nil(**reply)) {
      error = Error{Errc::conflict, "an update with id \"" + printable_excerpt(ids[i]) + "\" is already stored"};
    } else if (reply_is_error(**reply) || (*reply)->type != REDIS_REPLY_STRING) {
      // OOM, READONLY after a failover...: not ready until a probe or a publish gets through.
      const Error cause{Errc::unavailable, "redis " + options_.describe() + " refused update " +
                                               printable_excerpt(ids[i]) + ": " + std::string(reply_text(**reply))};
      set_failing(true, &cause);
      error = Error{Errc::unavailable, "history store refused the update"};
    } else if (auto seq = seq_from_entry_id(reply_text(**reply)); !seq) {
      // Stored under an id this hub cannot order (the stream holds a foreign entry far in the
      // future): nobody will read it back; refuse rather than acknowledge an undeliverable update.
      const Error cause{Errc::unavailable, "redis " + options_.describe() + ": " + seq.error().reason};
      set_failing(true, &cause);
      error = Error{Errc::unavailable, "history store refused the update"};
    } else {
      // Stored: the reader acknowledges it once it has fanned it out (unless it already has).
      ++accepted;
      std::lock_guard lock(sent_mutex_);
      if (auto it = sent_.find(counters[i]); it != sent_.end()) {
        it->second.stored = true;
        it->second.stored_at = std::chrono::steady_clock::now();
        // Not read back, yet the reader is past its id: the stream's ids went back (recreated,
        // or failed over). The reader stores read_seq_ only after it took its own entry.
        if (*seq <= read_seq_.load(std::memory_order_relaxed)) went_back_.store(true);
      }
      return;
    }
    if (auto sent = take_sent(counters[i]))
      call_quietly(kWho, "publish acknowledgement", sent->done, Result<void>(error));
  };
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto reply = writer_connection_->read_reply();
    if (reply && reply_is_error(**reply) && reply_text(**reply).starts_with("NOSCRIPT")) {
      unknown_script.push_back(i);  // a new Redis, or SCRIPT FLUSH: EVAL caches it again
      continue;
    }
    settle(i, reply);
  }
  // In their order, after the others of the batch: they were concurrent with them anyway (each
  // publisher has one publish in flight at a time).
  for (const std::size_t i : unknown_script) {
    NewUpdatePtr update;
    {
      std::lock_guard lock(sent_mutex_);
      if (auto it = sent_.find(counters[i]); it != sent_.end()) update = it->second.update;
    }
    if (!update) continue;
    append_publish(*update, counters[i], false);
    auto reply = writer_connection_->read_reply();
    settle(i, reply);
  }
  if (accepted > 0 && !writer_connection_->broken()) set_failing(false, nullptr);
  if (metrics_ != nullptr) {
    metrics_->commit_batch(batch.size());
    metrics_->updates_committed(accepted);
  }
}

}  // namespace mercure
