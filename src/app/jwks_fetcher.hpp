#pragma once
// Keeps one role's JSON Web Key Set (publisher_jwks_url / subscriber_jwks_url) current in its
// KeySetSource.
//
// - Start-up (load()): a document that is not a key set, holds no usable key, or is refused
//   (an HTTP status like 404, a file that cannot be read) stops the start with a message naming
//   the role and the URL: that is a setting to fix. When the provider does not answer (no
//   connection, a timeout, a 5xx), the hub starts anyway, as the reference does, and the role
//   refuses tokens ("key set is not loaded") while the fetcher retries: after 1 s, then twice as
//   long each time, up to 30 s.
// - Then every hour, and at once when a token names a kid the set does not have (a provider
//   publishes a new key before signing with it; the request waits for that fetch, see
//   KeySetSource): at most once every `min_interval` whatever clients send. A document identical to the last one
//   changes nothing. A failed refresh keeps the keys the hub has (warning); a well-formed set without a usable key is
//   installed (an emptied set revokes every key), with an error logged.
//
// Thread-safety: load(), start() and stop() from the thread that owns the fetcher (main); the
// refresh runs on the fetcher's own thread and only touches the KeySetSource.

#include "app/document_fetch.hpp"
#include "core/key_set_verifier.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace mercure {

struct JwksFetcherOptions {
  std::chrono::seconds refresh_interval{3600};
  std::chrono::milliseconds min_interval{30'000};  // between fetches asked for by unknown kids
  std::chrono::milliseconds first_retry{1000};     // when the provider did not answer at start-up
  std::chrono::milliseconds max_retry{30'000};
  DocumentLimits limits;
};

class JwksFetcher final {
 public:
  // `role` names the set in messages ("publisher").
  JwksFetcher(std::string role, std::shared_ptr<KeySetSource> source, JwksFetcherOptions options = {});
  ~JwksFetcher();
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Fetches the set and installs it. Throws std::runtime_error with a one-line message when the
  // document is unusable; logs and returns when the provider did not answer (see above).
  void load();
  // The refresh thread; stop() (or the destructor) ends it, abandoning a fetch in flight.
  void start();
  void stop();

 private:
  enum class Outcome { installed, unchanged, unusable, transient };
  struct Result {
    Outcome outcome;
    std::string reason;
  };

  void run();
  // Fetches; installs the set when it changed. `initial`: a set without a usable key is unusable.
  [[nodiscard]] Result refresh(bool initial);

  std::string role_;
  std::shared_ptr<KeySetSource> source_;
  JwksFetcherOptions options_;
  std::string url_for_logs_;
  std::string last_document_;
  std::thread thread_;
};

}  // namespace mercure
