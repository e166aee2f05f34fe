#include "http/key_set_wait.hpp"

#include "core/authorizer.hpp"
#include "core/jwt_verifier.hpp"
#include "core/key_set_verifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace mercure {

namespace asio = boost::asio;

std::uint64_t fetches_ended_of(const KeySetSource* source) {
  return source == nullptr ? 0 : source->fetches_ended();
}

std::optional<KeySetWait> key_set_wait(KeySetSource* source, const Error& e, std::uint64_t fetches_before) {
  if (source == nullptr || e.check != kJwtCheckKid) return std::nullopt;
  auto ticket = source->refresh_ticket();
  if (ticket) return KeySetWait{source, *ticket};
  // No fetch under way or due, but one may have ended since the token was verified (the fetch
  // its unknown kid asked for): the key it brought is tried.
  if (source->fetches_ended() > fetches_before) return KeySetWait{source, fetches_before};
  return std::nullopt;
}

KeySetWaits::~KeySetWaits() {
  unlisten();
}

void KeySetWaits::start(asio::io_context& io, const Authorizer& authorizer) {
  io_ = &io;
  for (KeySetSource* source : {authorizer.publisher_key_set(), authorizer.subscriber_key_set()}) {
    if (source == nullptr) continue;
    // The listener runs on the fetcher's thread: it only hands the news to the shard's thread.
    const auto id = source->add_listener([this] { asio::post(*io_, [this] { wake(); }); });
    listeners_.emplace_back(source, id);
  }
}

void KeySetWaits::unlisten() {
  for (auto& [source, id] : listeners_) source->remove_listener(id);
  listeners_.clear();
}

void KeySetWaits::close() {
  closed_ = true;
  wake();
}

void KeySetWaits::wake() {
  for (auto* timer : waiting_) timer->cancel();
}

asio::awaitable<bool> KeySetWaits::wait(KeySetWait wait) {
  const auto ended = [&] { return wait.source->fetches_ended() > wait.ticket; };
  if (closed_ || ended()) co_return ended();
  asio::steady_timer timer(co_await asio::this_coro::executor, kMaxWait);
  waiting_.push_back(&timer);
  struct Unlist {
    std::vector<asio::steady_timer*>& waiting;
    asio::steady_timer* timer;
    ~Unlist() { std::erase(waiting, timer); }
  } unlist{waiting_, &timer};
  // Woken (cancelled) when any key set's fetch ends or the shard stops; the deadline otherwise.
  while (!closed_ && !ended()) {
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) break;
  }
  co_return ended();
}

}  // namespace mercure
