#pragma once
// Verifies tokens against a JSON Web Key Set (publisher_jwks_url / subscriber_jwks_url): the key
// is chosen by the token's `kid` header, the algorithm must be one the key may verify (JwkSet:
// by its type, its size and its own `alg`), then JwtVerifier checks the token as it would with a
// configured key. A token without `kid` is tried with every key that may verify its `alg`, when
// there are at most kMaxKidlessCandidates of them (else it is refused: a kid is required).
//
// KeySetSource holds the current set of one role while the hub runs: the fetcher (src/app)
// replaces it when the set is fetched again; a token whose `kid` is unknown asks for that
// (request_refresh), since the identity provider may have published a new key since. When that
// fetch is under way or starts at once (refresh_ticket), the request may wait for its end
// (listeners are told of the end of every fetch) and verify the token again, as the reference
// hub fetches during the request: the first token signed with a rotated key is accepted.
//
// Thread-safety: KeySetVerifier is immutable after construction, verify_untimed() may run
// concurrently. KeySetSource: every member may be called from any thread.

#include "core/claims.hpp"
#include "core/error.hpp"
#include "core/jwk_set.hpp"
#include "core/jwt_verifier.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class KeySetVerifier final {
 public:
  static constexpr std::size_t kMaxKidlessCandidates = 8;

  // Throws nothing; keys it cannot build a verifier for are left out (JwkSet already checked them).
  explicit KeySetVerifier(const JwkSet& set);

  // As JwtVerifier::verify_untimed. An unknown `kid` fails with Error::check == kJwtCheckKid
  // (as does a kid-less token matching too many keys).
  [[nodiscard]] Result<Claims> verify_untimed(std::string_view token) const;

  [[nodiscard]] std::size_t key_count() const noexcept { return key_count_; }

 private:
  struct Entry {
    std::string kid;
    JwtAlgorithm alg;
    JwtVerifier verifier;
  };
  std::vector<Entry> entries_;  // one per (key, algorithm it may verify)
  std::size_t key_count_ = 0;
};

class KeySetSource final {
 public:
  explicit KeySetSource(std::string url) : url_(std::move(url)) {}

  [[nodiscard]] const std::string& url() const noexcept { return url_; }

  // The current set; null before the first replace().
  [[nodiscard]] std::shared_ptr<const KeySetVerifier> current() const;
  // Bumps generation(): tokens verified with an earlier set are verified again.
  void replace(std::shared_ptr<const KeySetVerifier> set);
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  // A token named a kid the set does not have: wakes the fetcher (it decides how often to fetch).
  // A no-op while a request is pending.
  void request_refresh();
  // After request_refresh(): when a fetch is under way, or will start without waiting out the
  // fetcher's minimum interval, the number of fetches ended so far; the fetch that ends next
  // makes fetches_ended() exceed it. nullopt: no fetch soon (answer at once).
  [[nodiscard]] std::optional<std::uint64_t> refresh_ticket() const;
  [[nodiscard]] std::uint64_t fetches_ended() const noexcept { return fetches_ended_.load(std::memory_order_acquire); }
  // `listener` is called (on the fetcher's thread) each time a fetch ends, and at stop(). After
  // remove_listener() returns it is not running and is never called again.
  std::uint64_t add_listener(std::function<void()> listener);
  void remove_listener(std::uint64_t id);

  // For the fetcher: true when a refresh was requested before `deadline` (the request is
  // consumed; past the minimum interval, the fetch counts as started), false at the deadline or
  // after stop().
  bool wait_for_refresh_request(std::chrono::steady_clock::time_point deadline);
  // For the fetcher: consumes a pending request; true when there was one.
  bool take_refresh_request();
  // For the fetcher: a fetch starts (consumes a pending request); it ends, and the next one asked
  // for by an unknown kid may not start before `next_allowed` (listeners are called).
  void fetch_started();
  void fetch_ended(std::chrono::steady_clock::time_point next_allowed);
  // For the fetcher: waits until `deadline`, or returns true at once when stopped.
  bool wait_until_stopped(std::chrono::steady_clock::time_point deadline);
  void stop();
  [[nodiscard]] bool stopped() const;

 private:
  std::string url_;
  // A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's lock inside the latter is
  // invisible to ThreadSanitizer, which reports its load/store as a race. Taken only when a
  // token is verified afresh (cache misses) and when the set is replaced.
  mutable std::mutex current_mutex_;
  std::shared_ptr<const KeySetVerifier> current_;  // guarded by current_mutex_
  std::atomic<std::uint64_t> generation_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool refresh_requested_ = false;                        // guarded by mutex_
  std::atomic<bool> refresh_pending_{false};              // request_refresh()'s lock-free fast path
  bool stopped_ = false;                                  // guarded by mutex_
  bool fetching_ = false;                                 // guarded by mutex_
  std::chrono::steady_clock::time_point next_allowed_{};  // guarded by mutex_
  std::atomic<std::uint64_t> fetches_ended_{0};
  // Called with listeners_mutex_ held, so that remove_listener() waits for a call in progress.
  std::mutex listeners_mutex_;
  std::map<std::uint64_t, std::function<void()>> listeners_;  // guarded by listeners_mutex_
  std::uint64_t next_listener_ = 0;                           // guarded by listeners_mutex_
  void notify_listeners();
};

}  // namespace mercure
