#include "transport/redis_transport.hpp"

// RedisTransport's hub liveness and the cluster's list of subscriptions (see redis_transport.hpp
// and the node script in redis_script.hpp).

#include "transport/redis_entry.hpp"
#include "transport/redis_script.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace mercure {

std::vector<Subscription> RedisTransport::take_initial_subscriptions() {
  std::lock_guard lock(subscriptions_mutex_);
  return std::exchange(initial_subscriptions_, {});
}

void RedisTransport::set_forgotten_handler(std::function<void()> handler) {
  std::lock_guard lock(subscriptions_mutex_);
  forgotten_ = std::move(handler);
}

void RedisTransport::set_rewound_handler(std::function<void(std::vector<Subscription>)> handler) {
  std::lock_guard lock(subscriptions_mutex_);
  rewound_ = std::move(handler);
}

void RedisTransport::beat() {
  run_node_script(keys_.node_timeout_ms);
}

void RedisTransport::stop_beating() {
  run_node_script("0");
}

void RedisTransport::run_node_script(std::string_view timeout) {
  if (!writer_connection_ || !writer_connection_->idle_and_open()) return;  // the probe reconnects
  const std::string_view args[] = {
      "EVAL",      kRedisNodeScript, "6",   keys_.nodes, keys_.subscriptions, keys_.ends,         options_.stream,
      keys_.index, keys_.claim_hold, node_, timeout,     keys_.node_prefix,   listed_ ? "1" : "0"};
  auto reply = writer_connection_->command(args);
  if (!reply) return;  // lost: the next probe or publish says so (a claim done meanwhile is complete)
  const redisReply& r = **reply;
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 3 || r.element[0]->type != REDIS_REPLY_INTEGER ||
      r.element[2]->type != REDIS_REPLY_INTEGER) {
    spdlog::warn("redis transport: hub liveness: {}", reply_text(r));
    return;
  }
  listed_ = true;
  if (r.element[2]->integer > 0) {
    spdlog::info("redis transport: hub {} gave no sign of life for {} s: {} of its subscriptions ended",
                 reply_text(*r.element[1]), options_.node_timeout.count(), r.element[2]->integer);
  }
  if (r.element[0]->integer == 1) {
    resync_.store(true);
    std::function<void()> handler;
    {
      std::lock_guard lock(subscriptions_mutex_);
      handler = forgotten_;
    }
    spdlog::warn(
        "redis transport: this hub was no longer listed in Redis (taken for dead after a stall, or Redis "
        "emptied){}",
        handler ? ": its subscriptions are announced again" : "");
    call_quietly(kWho, "forgotten-hub handler", handler);
  }
}

}  // namespace mercure
