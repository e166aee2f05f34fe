#pragma once
// Keeps one role's JSON Web Key Set (publisher_jwks_url / subscriber_jwks_url) current in its
// KeySetSource: fetched once at start-up (a failure stops the start, naming the role and the
// URL), then again every hour, and soon after a token names a kid the set does not have (an
// identity provider publishes a new key before signing with it), at most once every few seconds
// whatever clients send. A failed or empty refresh keeps the keys the hub has and logs a warning.
//
// https:// and http:// are fetched with libcurl (certificates verified against the system's CAs,
// at most 3 redirects, 10 s, 1 MiB); file:// is read from the disk (host empty or localhost), as
// the reference hub does, and read again like a URL would be.
//
// Thread-safety: load(), start() and stop() from the thread that owns the fetcher (main); the
// refresh runs on the fetcher's own thread and only touches the KeySetSource.

#include "core/key_set_verifier.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

namespace mercure {

struct JwksFetcherOptions {
  std::chrono::seconds refresh_interval{3600};
  std::chrono::milliseconds min_interval{5000};  // between fetches asked for by unknown kids
  std::chrono::seconds timeout{10};
  std::size_t max_bytes = std::size_t{1} << 20;
};

class JwksFetcher final {
 public:
  // `role` names the set in messages ("publisher").
  JwksFetcher(std::string role, std::shared_ptr<KeySetSource> source, JwksFetcherOptions options = {});
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Fetches the set and installs it. Throws std::runtime_error with a one-line message when it
  // cannot be fetched or holds no usable key.
  void load();
  // The refresh thread; stop() (or the destructor) ends it, abandoning a fetch in flight.
  void start();
  void stop();

 private:
  void run();
  // Fetches and installs; the reason when nothing was installed.
  [[nodiscard]] std::string refresh();

  std::string role_;
  std::shared_ptr<KeySetSource> source_;
  JwksFetcherOptions options_;
  std::thread thread_;
};

}  // namespace mercure
