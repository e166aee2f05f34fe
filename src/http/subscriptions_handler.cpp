#include "http/subscriptions_handler.hpp"

#include "http/shard.hpp"

namespace mercure {

bool is_subscriptions_path(const Shard* shard, std::string_view path) {
  return shard->options().subscriptions && path.starts_with("/.well-known/mercure/subscriptions");
}

Response handle_subscriptions(Shard* /*shard*/, const Request& req, const Target& /*target*/,
                              const std::string& /*remote*/) {
  return make_text_response(req, http::status::not_found, "not found\n");
}

}  // namespace mercure
