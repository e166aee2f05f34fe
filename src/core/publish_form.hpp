#pragma once
// The fields of a Mercure publish request (POST /.well-known/mercure,
// application/x-www-form-urlencoded), parsed and checked against the protocol's field rules.
//
// What is checked here (each failure is Errc::bad_request with a one-line reason):
//   - at least one `topic` ("missing topic");
//   - `id` does not start with '#' and has no CR, LF or NUL; `type` has no CR, LF or NUL
//     (these would let a publisher inject SSE fields);
//   - `retry` is ASCII digits only and fits an unsigned 64-bit integer;
//   - every escape in the body is well formed (see parse_urlencoded).
// What is NOT checked here: authorization, and topics reserved by the hub
// (`/.well-known/mercure...`): both are the hub's (403).
//
// Field semantics follow the reference hub (Go's r.PostForm):
//   - `topic` is repeatable, kept in order (first = canonical); an empty topic is kept;
//   - `data`, `id`, `type`, `retry`: the first occurrence wins, later ones are ignored;
//   - an empty `id`, `type` or `retry` is the same as an absent one (the hub then assigns
//     the id), so when set, id/type/retry are never empty; an empty `data` is kept as "";
//   - `private` present with any value, even empty or "false", makes the update private;
//   - unknown fields are ignored.
// Pure function; safe to call from any thread.

#include "core/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

struct PublishForm {
  std::vector<std::string> topics;  // never empty after a successful parse
  std::optional<std::string> data;
  std::optional<std::string> id;     // when set: non-empty, no leading '#', no CR/LF/NUL
  std::optional<std::string> type;   // when set: non-empty, no CR/LF/NUL
  std::optional<std::string> retry;  // when set: ASCII digits (leading zeros allowed), value <= UINT64_MAX
  bool is_private = false;
};

[[nodiscard]] Result<PublishForm> parse_publish_form(std::string_view body);

}  // namespace mercure
