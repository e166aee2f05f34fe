#include "core/key_set_verifier.hpp"

#include "core/base64url.hpp"
#include "core/strict_json.hpp"

#include <boost/json/value.hpp>

#include <utility>

namespace mercure {

namespace {

Error reject_token(std::string_view check, std::string reason) {
  return Error{Errc::unauthorized, std::move(reason), check};
}

struct Header {
  std::string alg;
  std::optional<std::string> kid;
};

// The `alg` and `kid` of a compact JWS; the rest is JwtVerifier's to check.
Result<Header> peek_header(std::string_view token) {
  if (token.size() > JwtVerifier::kMaxTokenSize) {
    return reject_token(kJwtCheckFormat,
                        "malformed token: larger than " + std::to_string(JwtVerifier::kMaxTokenSize) + " bytes");
  }
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0) return reject_token(kJwtCheckFormat, "malformed token: no header");
  auto json = base64url_decode(token.substr(0, dot));
  if (!json) return reject_token(kJwtCheckFormat, "malformed token: bad base64 in header");
  auto header = parse_strict_json(*json, "header");
  if (!header) return reject_token(kJwtCheckFormat, "malformed token: " + header.error().reason);
  const auto* obj = header->if_object();
  if (obj == nullptr) return reject_token(kJwtCheckFormat, "malformed token: header is not a JSON object");
  Header out;
  const auto* alg = obj->if_contains("alg");
  if (alg == nullptr || !alg->is_string())
    return reject_token(kJwtCheckFormat, "malformed token: header has no alg string");
  out.alg.assign(alg->as_string().data(), alg->as_string().size());
  if (const auto* kid = obj->if_contains("kid"); kid != nullptr && !kid->is_null()) {
    if (!kid->is_string()) return reject_token(kJwtCheckFormat, "malformed token: header kid is not a string");
    out.kid.emplace(kid->as_string().data(), kid->as_string().size());
  }
  return out;
}

}  // namespace

KeySetVerifier::KeySetVerifier(const JwkSet& set) {
  for (const Jwk& key : set.keys) {
    bool any = false;
    for (JwtAlgorithm alg : key.algorithms) {
      auto verifier = JwtVerifier::create_for_key(alg, key.key.get());
      if (!verifier) continue;
      entries_.push_back(Entry{key.kid, alg, std::move(*verifier)});
      any = true;
    }
    if (any) ++key_count_;
  }
}

Result<Claims> KeySetVerifier::verify_untimed(std::string_view token) const {
  auto header = peek_header(token);
  if (!header) return header.error();
  if (header->alg == "none") return reject_token(kJwtCheckAlg, "unsecured token (alg none) not allowed");
  const auto alg = parse_jwt_algorithm(header->alg);
  if (!alg) return reject_token(kJwtCheckAlg, "algorithm \"" + printable_excerpt(header->alg) + "\" not supported");

  // With a kid: every key under it that may verify the algorithm (a provider may publish two
  // keys under one kid while rotating). Without: every key of the algorithm, up to a bound, so a
  // garbage token cannot make the hub check a signature with each key of a large set.
  bool kid_known = false;
  std::size_t candidates = 0;
  for (const Entry& entry : entries_) {
    if (header->kid && entry.kid != *header->kid) continue;
    kid_known = true;
    if (entry.alg == *alg) ++candidates;
  }
  if (!header->kid && candidates > kMaxKidlessCandidates) {
    return reject_token(kJwtCheckFormat, "token without kid, and " + std::to_string(candidates) +
                                             " keys of the key set verify " + std::string(to_string(*alg)) +
                                             " (a kid is required)");
  }
  std::optional<Error> last;
  for (const Entry& entry : entries_) {
    if ((header->kid && entry.kid != *header->kid) || entry.alg != *alg) continue;
    auto claims = entry.verifier.verify_untimed(token);
    if (claims) return claims;
    last = claims.error();
    if (last->check != kJwtCheckSignature) return *last;  // not about the key: another one changes nothing
  }
  if (last) return *last;
  if (header->kid && !kid_known) {
    return reject_token(kJwtCheckKid, "no key with kid \"" + printable_excerpt(*header->kid) + "\" in the key set");
  }
  if (header->kid) {
    return reject_token(kJwtCheckAlg, "the key \"" + printable_excerpt(*header->kid) + "\" does not verify " +
                                          std::string(to_string(*alg)));
  }
  return reject_token(kJwtCheckAlg, "no key of the key set verifies " + std::string(to_string(*alg)));
}

std::shared_ptr<const KeySetVerifier> KeySetSource::current() const {
  const std::lock_guard lock(current_mutex_);
  return current_;
}

void KeySetSource::replace(std::shared_ptr<const KeySetVerifier> set) {
  {
    const std::lock_guard lock(current_mutex_);
    current_.swap(set);
  }  // the previous set is released outside the lock
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void KeySetSource::request_refresh() {
  // Cheap when a request is already pending: a flood of unknown kids wakes the fetcher once.
  if (refresh_pending_.exchange(true, std::memory_order_acq_rel)) return;
  {
    const std::lock_guard lock(mutex_);
    refresh_requested_ = true;
  }
  wake_.notify_all();
}

std::optional<std::uint64_t> KeySetSource::refresh_ticket() const {
  const std::lock_guard lock(mutex_);
  if (stopped_) return std::nullopt;
  // Read under mutex_: fetch_ended() counts the fetch before it clears fetching_.
  const auto ended = fetches_ended_.load(std::memory_order_acquire);
  if (fetching_) return ended;
  if ((refresh_requested_ || refresh_pending_.load(std::memory_order_acquire)) &&
      std::chrono::steady_clock::now() >= next_allowed_) {
    return ended;
  }
  return std::nullopt;
}

std::uint64_t KeySetSource::add_listener(std::function<void()> listener) {
  const std::lock_guard lock(listeners_mutex_);
  const auto id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void KeySetSource::remove_listener(std::uint64_t id) {
  const std::lock_guard lock(listeners_mutex_);
  listeners_.erase(id);
}

void KeySetSource::notify_listeners() {
  const std::lock_guard lock(listeners_mutex_);
  for (auto& [id, listener] : listeners_) listener();
}

void KeySetSource::fetch_started() {
  const std::lock_guard lock(mutex_);
  refresh_pending_.store(false, std::memory_order_release);
  refresh_requested_ = false;
  fetching_ = true;
}

void KeySetSource::fetch_ended(std::chrono::steady_clock::time_point next_allowed) {
  {
    const std::lock_guard lock(mutex_);
    fetches_ended_.fetch_add(1, std::memory_order_acq_rel);
    fetching_ = false;
    next_allowed_ = next_allowed;
  }
  notify_listeners();
}

bool KeySetSource::take_refresh_request() {
  const std::lock_guard lock(mutex_);
  refresh_pending_.store(false, std::memory_order_release);
  return std::exchange(refresh_requested_, false);
}

bool KeySetSource::wait_until_stopped(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return wake_.wait_until(lock, deadline, [&] { return stopped_; });
}

bool KeySetSource::wait_for_refresh_request(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [&] { return refresh_requested_ || stopped_; });
  if (stopped_ || !refresh_requested_) return false;
  refresh_requested_ = false;
  refresh_pending_.store(false, std::memory_order_release);
  // The fetcher fetches at once unless the minimum interval is not over: from here, not from
  // its fetch_started(), so that refresh_ticket() sees no gap between the two.
  if (std::chrono::steady_clock::now() >= next_allowed_) fetching_ = true;
  return true;
}

void KeySetSource::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
  notify_listeners();
}

bool KeySetSource::stopped() const {
  const std::lock_guard lock(mutex_);
  return stopped_;
}

}  // namespace mercure
