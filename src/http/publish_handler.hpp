#pragma once
// POST /.well-known/mercure: authenticate, CSRF-check cookies, parse the form, publish, and
// answer with the id once the transport has acknowledged the update.
// Not a coroutine of its own (no frame per request): the checks run when the returned awaitable
// is awaited, and the response arrives through the shard's executor. `req` and `target` must
// stay valid until then (they live in the awaiting connection's frame).

#include "http/http_types.hpp"
#include "http/key_set_wait.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class Shard;

// What a publish comes to: the refusal to send, or (none) a 200 with the update's id, whose head
// the connection writes with append_ok_text_head (no Beast message for the usual answer).
struct PublishOutcome {
  std::optional<Response> refusal;
  std::string id;
  std::string_view cors_origin;  // the request's Origin when CORS allows it, else empty
  // Neither refused nor published yet: the token names a kid its key set is being fetched for;
  // the connection waits for the fetch (Shard::key_set_waits) and calls handle_publish again.
  std::optional<KeySetWait> key_set_wait;
};

// For a publish that waits for "100 Continue" before sending its body: the token and CSRF checks
// now, so a refused publisher is answered at once instead of uploading its body first. The
// refusal (counted and logged), or nullopt when the body is worth reading (also when the token's
// kid is being fetched: the publish waits for the key after its body).
[[nodiscard]] std::optional<Response> refuse_publish_before_body(Shard* shard, const Request& req, const Target& target,
                                                                 const std::string& remote);

// `may_wait`: an unknown kid while its key set is being fetched comes back as `key_set_wait`
// (false: refused like any bad token).
boost::asio::awaitable<PublishOutcome> handle_publish(Shard* shard, const Request* req, const Target* target,
                                                      std::string remote, bool may_wait = true);

}  // namespace mercure
