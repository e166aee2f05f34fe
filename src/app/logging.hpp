#pragma once
// Log output of the hub: spdlog's default logger writing one record per line to stderr.
//
//   text: 2026-11-22T10:00:00.123Z INFO listening on http://127.0.0.1:3000 (2 workers)
//   json: {"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"listening on ..."}
//
// Times are UTC with milliseconds. Levels: trace, debug, info, warn, error, critical (upper case in
// text). A record is always one line: in text, control characters of the message are escaped
// (\n, \r, \t, \xNN) so a client-supplied string cannot forge a log line; in json, the message is
// a correctly escaped JSON string (quotes, backslashes, control characters as \n or \u00XX;
// valid UTF-8 is kept as is, invalid bytes become U+FFFD) so every line parses as JSON.

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace mercure {

// Start-up, from the main thread, before other threads log. Idempotent: a second call replaces
// the default logger (run_cli calls it to print configuration warnings; main may call it again).
// `format` is "text" or "json" (anything else is treated as text). Level: info, or debug when
// `debug`. Every record is flushed at once.
void setup_logging(const std::string& format, bool debug);

// The formatter setup_logging installs, for tests and for extra sinks.
[[nodiscard]] std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& format);

// `text` as the body of a JSON string (without the surrounding quotes), as described above.
[[nodiscard]] std::string json_escape(std::string_view text);

}  // namespace mercure
