#pragma once
// Serialization of an update into the bytes of one Server-Sent Events message
// (WHATWG HTML, "Server-sent events"), built once per update and shared by every subscriber.
//
// Frame layout, in this order:
//   "event: <type>\n"   only if u.type is non-empty
//   "retry: <n>\n"      only if u.retry is set
//   "id: <id>\n"        always
//   "data: <line>\n"    once per line of u.data; CRLF, CR and LF each end a line, so
//                       "a\n" gives two lines ("a" and "") and empty data gives one "data: \n"
//   "\n"                end of the message
//
// Preconditions (checked by the publish form parser / the hub, not here): u.id and u.type
// contain no CR, LF or NUL. Violating them lets a publisher inject SSE fields.
// Pure functions; safe to call from any thread.

#include "core/update.hpp"

#include <string>
#include <string_view>

namespace mercure {

// Returns the complete frame; allocates exactly once (the size is computed first).
[[nodiscard]] std::string make_sse_frame(const Update& u);

// A comment line, sent to keep idle connections alive and to flush headers at once.
[[nodiscard]] constexpr std::string_view sse_heartbeat() noexcept {
  return ":\n";
}

}  // namespace mercure
