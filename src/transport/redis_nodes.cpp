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

void RedisTransport::set_departed_handler(DepartedHandler handler) {
  std::lock_guard lock(subscriptions_mutex_);
  departed_ = std::move(handler);
}

void RedisTransport::beat(bool claim) {
  if (!writer_connection_ || !writer_connection_->idle_and_open()) return;  // the probe reconnects
  DepartedHandler handler;
  if (claim && !stopping_.load()) {  // stopping: this hub could no longer publish what it claims
    std::lock_guard lock(subscriptions_mutex_);
    handler = departed_;
  }
  const std::string nodes = options_.nodes_key();
  const std::string subscriptions = options_.subscriptions_key();
  const std::string timeout = std::to_string(std::chrono::milliseconds(options_.node_timeout).count());
  const std::string prefix = options_.node_key_prefix();
  const std::string_view args[] = {"EVAL", kRedisNodeScript,   "2", nodes, subscriptions, node_, timeout,
                                   prefix, handler ? "1" : "0"};
  auto reply = writer_connection_->command(args);
  if (!reply) return;  // lost: the next probe or publish says so
  const redisReply& r = **reply;
  if (r.type != REDIS_REPLY_ARRAY) {
    spdlog::warn("redis transport: hub liveness: {}", reply_text(r));
    return;
  }
  if (r.elements == 0 || !handler) return;
  const std::string_view dead = reply_text(*r.element[0]);
  std::vector<Subscription> departed;
  departed.reserve(r.elements - 1);
  for (std::size_t i = 1; i < r.elements; ++i) {
    auto s = decode_subscription(reply_text(*r.element[i]));
    if (!s) continue;
    s->active = false;
    departed.push_back(std::move(*s));
  }
  if (departed.empty()) return;
  spdlog::info("redis transport: hub {} gave no sign of life for {} s: its {} subscription(s) ended", dead,
               options_.node_timeout.count(), departed.size());
  call_quietly(kWho, "departed-subscriptions handler", handler, std::move(departed));
}

void RedisTransport::stop_beating() {
  if (!writer_connection_ || !writer_connection_->idle_and_open()) return;
  const std::string nodes = options_.nodes_key();
  const std::string subscriptions = options_.subscriptions_key();
  const std::string prefix = options_.node_key_prefix();
  const std::string_view args[] = {"EVAL", kRedisNodeScript, "2", nodes, subscriptions, node_, "0", prefix, "0"};
  (void)writer_connection_->command(args);
}

}  // namespace mercure
