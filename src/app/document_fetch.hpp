#pragma once
// Reads a small document named by a URL, for the key sets (JwksFetcher): `https://` and `http://`
// with libcurl (certificates checked against the system's CAs; at most 3 redirects, never from
// https to http; gzip accepted), `file://` from the disk (host empty or `localhost`, path
// percent-decoded, a regular file only: a FIFO or a device would block or never end).
// Bounded in time (`timeout`, http only) and size (`max_bytes`, after decompression).
//
// Thread-safety: reentrant; call from a thread that may block (never a shard).

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace mercure {

struct DocumentFetch {
  std::string body;    // when ok
  std::string reason;  // one line, when not
  bool ok = false;
  bool transient = false;  // worth trying again later: no answer, a timeout, a 5xx, 408 or 429
};

struct DocumentLimits {
  std::chrono::seconds timeout{10};
  std::size_t max_bytes = std::size_t{1} << 20;
};

// `abandon` is polled during an http transfer; true abandons it (the hub is stopping).
[[nodiscard]] DocumentFetch fetch_document(const std::string& url, const DocumentLimits& limits,
                                           const std::function<bool()>& abandon = {});

// `url` fit for a log line: what precedes its last '@' after the scheme (`user:secret` in
// `https://user:secret@host/`) is replaced by `***`.
[[nodiscard]] std::string redact_url(const std::string& url);

}  // namespace mercure
