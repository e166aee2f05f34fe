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

void RedisTransport::beat() {
  if (!writer_connection_ || !writer_connection_->idle_and_open()) return;  // the probe reconnects
  const std::string nodes = options_.nodes_key();
  const std::string subscriptions = options_.subscriptions_key();
  const std::string ends = options_.subscription_ends_key();
  const std::string index = options_.index_key();
  const std::string hold = options_.claim_hold_key();
  const std::string timeout = std::to_string(std::chrono::milliseconds(options_.node_timeout).count());
  const std::string prefix = options_.node_key_prefix();
  const std::string_view args[] = {
      "EVAL", kRedisNodeScript, "6", nodes, subscriptions, ends, options_.stream, index, hold, node_, timeout, prefix};
  auto reply = writer_connection_->command(args);
  if (!reply) return;  // lost: the next probe or publish says so (a claim done meanwhile is complete)
  const redisReply& r = **reply;
  if (r.type != REDIS_REPLY_ARRAY) {
    spdlog::warn("redis transport: hub liveness: {}", reply_text(r));
    return;
  }
  if (r.elements == 2 && r.element[1]->type == REDIS_REPLY_INTEGER && r.element[1]->integer > 0) {
    spdlog::info("redis transport: hub {} gave no sign of life for {} s: {} of its subscriptions ended",
                 reply_text(*r.element[0]), options_.node_timeout.count(), r.element[1]->integer);
  }
}

void RedisTransport::stop_beating() {
  if (!writer_connection_ || !writer_connection_->idle_and_open()) return;
  const std::string nodes = options_.nodes_key();
  const std::string subscriptions = options_.subscriptions_key();
  const std::string ends = options_.subscription_ends_key();
  const std::string index = options_.index_key();
  const std::string hold = options_.claim_hold_key();
  const std::string prefix = options_.node_key_prefix();
  const std::string_view args[] = {
      "EVAL", kRedisNodeScript, "6", nodes, subscriptions, ends, options_.stream, index, hold, node_, "0", prefix};
  (void)writer_connection_->command(args);
}

}  // namespace mercure
