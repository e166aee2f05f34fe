#include "app/jwks_fetcher.hpp"

#include "core/jwk_set.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace mercure {

JwksFetcher::JwksFetcher(std::string role, std::shared_ptr<KeySetSource> source, JwksFetcherOptions options)
    : role_(std::move(role)),
      source_(std::move(source)),
      options_(options),
      url_for_logs_(redact_url(source_->url())) {}

JwksFetcher::~JwksFetcher() {
  stop();
}

JwksFetcher::Result JwksFetcher::refresh(bool initial) {
  auto fetched = fetch_document(source_->url(), options_.limits, [this] { return source_->stopped(); });
  if (!fetched.ok) return {fetched.transient ? Outcome::transient : Outcome::unusable, fetched.reason};
  if (fetched.body == last_document_ && source_->current()) return {Outcome::unchanged, {}};
  auto set = parse_jwk_set(fetched.body);
  if (!set) return {Outcome::unusable, set.error().reason};
  auto verifier = std::make_shared<const KeySetVerifier>(*set);
  if (verifier->key_count() == 0 && initial) {
    return {Outcome::unusable,
            "no usable key" + (set->skipped.empty() ? std::string() : " (" + set->skipped.front() + ")")};
  }
  // Encryption keys (`use: enc`) are normal in a provider's set: named at debug level only.
  for (const std::string& line : set->skipped) {
    const bool encryption = line.find("not \"sig\"") != std::string::npos ||
                            line.find("\"verify\"") != std::string::npos ||
                            line.find("an encryption algorithm") != std::string::npos;
    if (encryption) {
      spdlog::debug("{} key set {}: {} left out", role_, url_for_logs_, line);
    } else {
      spdlog::warn("{} key set {}: {} left out", role_, url_for_logs_, line);
    }
  }
  if (verifier->key_count() == 0) {
    spdlog::error("{} key set {}: no usable key in it: every {} token is refused until one is published", role_,
                  url_for_logs_, role_);
  } else {
    spdlog::info("{} key set: {} key{} from {}", role_, verifier->key_count(), verifier->key_count() == 1 ? "" : "s",
                 url_for_logs_);
  }
  last_document_ = std::move(fetched.body);
  source_->replace(std::move(verifier));
  return {Outcome::installed, {}};
}

void JwksFetcher::load() {
  if (source_->url().rfind("http://", 0) == 0 && source_->url().find("://127.") == std::string::npos &&
      source_->url().find("://localhost") == std::string::npos &&
      source_->url().find("://[::1]") == std::string::npos) {
    spdlog::warn("{} key set {}: plain http: whoever sits on the path can replace the keys (use https)", role_,
                 url_for_logs_);
  }
  const Result r = refresh(true);
  if (r.outcome == Outcome::unusable) {
    throw std::runtime_error("cannot load the " + role_ + " key set from " + url_for_logs_ + ": " + r.reason);
  }
  if (r.outcome == Outcome::transient) {
    spdlog::error("{} key set {}: not loaded yet: {}; {} tokens are refused until it is (retrying)", role_,
                  url_for_logs_, r.reason, role_);
  }
}

void JwksFetcher::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void JwksFetcher::stop() {
  source_->stop();
  if (thread_.joinable()) thread_.join();
}

void JwksFetcher::run() {
  using Clock = std::chrono::steady_clock;
  auto retry = std::chrono::duration_cast<Clock::duration>(options_.first_retry);
  const auto loaded = [this] { return source_->current() != nullptr; };
  auto next_periodic =
      Clock::now() + (loaded() ? std::chrono::duration_cast<Clock::duration>(options_.refresh_interval) : retry);
  auto next_allowed = Clock::now();  // the first unknown kid is served at once
  for (;;) {
    const bool asked = source_->wait_for_refresh_request(next_periodic);
    if (source_->stopped()) return;
    if (asked && Clock::now() < next_allowed) {
      // Too soon after the last fetch: wait out the interval; whoever asks meanwhile is served
      // by the one fetch that follows.
      if (source_->wait_until_stopped(next_allowed)) return;
    }
    source_->fetch_started();
    const Result r = refresh(false);
    if (r.outcome == Outcome::unusable || r.outcome == Outcome::transient) {
      spdlog::warn("{} key set: cannot {} from {}: {}{}", role_, loaded() ? "refresh" : "load", url_for_logs_, r.reason,
                   loaded() ? " (the keys already loaded are kept)" : " (retrying)");
    }
    next_allowed = Clock::now() + options_.min_interval;
    source_->fetch_ended(next_allowed);  // requests waiting for this fetch verify their token again
    if (loaded()) {
      next_periodic = Clock::now() + options_.refresh_interval;
    } else {
      next_periodic = Clock::now() + retry;
      retry = std::min<Clock::duration>(retry * 2, options_.max_retry);
    }
  }
}

}  // namespace mercure
