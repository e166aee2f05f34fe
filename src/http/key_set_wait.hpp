#pragma once
// Requests of one shard that wait for a key set fetch: a token naming a kid the set does not
// have, while the fetch it asked for is under way (KeySetSource::refresh_ticket), is verified
// again once the fetch ends instead of being refused at once; the first token signed with a key
// the identity provider has just published is then accepted. Each wait is bounded (kMaxWait);
// waits happen at most once per request, and a fetch at most once per the fetcher's minimum
// interval, so a flood of made-up kids is refused at once.
//
// Thread-safety: KeySetWaits belongs to its shard's thread, except that the key sets call its
// listeners from their fetcher's thread (they only post to the shard).

#include "core/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace mercure {

class Authorizer;
class KeySetSource;

// What a request waits for: the fetch of `source` that makes its fetches_ended() exceed `ticket`.
struct KeySetWait {
  KeySetSource* source = nullptr;
  std::uint64_t ticket = 0;
};

// How many fetches of `source` (may be null) had ended: read before verifying a token, for
// key_set_wait().
[[nodiscard]] std::uint64_t fetches_ended_of(const KeySetSource* source);

// A token refused with `e` by a role whose key set is `source` (may be null): what to wait for
// before verifying it again, or nullopt (refuse now). `fetches_before`: fetches_ended_of(source)
// before the token was verified; a fetch that ended since (a fast provider answering between the
// verification and now) gives a wait that is already over: verify again at once.
[[nodiscard]] std::optional<KeySetWait> key_set_wait(KeySetSource* source, const Error& e,
                                                     std::uint64_t fetches_before);

class KeySetWaits final {
 public:
  static constexpr std::chrono::seconds kMaxWait{5};

  KeySetWaits() = default;
  ~KeySetWaits();
  KeySetWaits(const KeySetWaits&) = delete;
  KeySetWaits& operator=(const KeySetWaits&) = delete;

  // Listens to the authorizer's key sets (when the shard starts).
  void start(boost::asio::io_context& io, const Authorizer& authorizer);
  // No more listening (first thing when the shard is destroyed, while its io_context exists).
  void unlisten();
  // The shard stops: every wait ends now, and later ones at once.
  void close();

  // Until the fetch awaited by `wait` has ended, at most kMaxWait: true when it has.
  boost::asio::awaitable<bool> wait(KeySetWait wait);

 private:
  void wake();

  boost::asio::io_context* io_ = nullptr;
  std::vector<std::pair<KeySetSource*, std::uint64_t>> listeners_;
  std::vector<boost::asio::steady_timer*> waiting_;
  bool closed_ = false;
};

}  // namespace mercure
