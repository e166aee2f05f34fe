#include "http/metrics_handler.hpp"

#include "http/shard.hpp"

namespace mercure {

bool is_metrics_path(const Shard* /*shard*/, std::string_view /*path*/) {
  return false;  // TODO(issue 4): metrics
}

Response handle_metrics(Shard* /*shard*/, const Request& req) {
  return make_text_response(req, http::status::not_found, "not found\n");
}

}  // namespace mercure
