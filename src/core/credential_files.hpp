#pragma once
// What the TLS set-ups (the listener's CERT_FILE/KEY_FILE, Redis's tls_* files, a session's
// failures) tell about a file or an OpenSSL failure, in one line. Safe from any thread
// (OpenSSL's error queue is per thread).

#include <string>
#include <string_view>

namespace mercure {

// Why `path` cannot be read ("No such file or directory", "it is a directory"), or empty when
// it can.
[[nodiscard]] std::string unreadable_reason(const std::string& path);

// The reason of the oldest error OpenSSL queued on this thread ("no start line", "certificate
// verify failed"), or `fallback` when there is none; the queue is emptied.
[[nodiscard]] std::string openssl_reason(std::string_view fallback);

}  // namespace mercure
