#include "http/ui_handler.hpp"

#include "http/shard.hpp"

namespace mercure {

bool is_ui_path(const Shard* shard, std::string_view path) {
  const auto& o = shard->options();
  return (o.ui || o.demo) && path.starts_with("/.well-known/mercure/ui/");
}

Response handle_ui(Shard* /*shard*/, const Request& req, const Target& /*target*/) {
  return make_text_response(req, http::status::not_found, "not found\n");  // TODO(issue 4): UI
}

}  // namespace mercure
