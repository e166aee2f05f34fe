#include "app/jwks_fetcher.hpp"

#include "core/jwk_set.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

#ifndef MERCURE_HUB_VERSION
#define MERCURE_HUB_VERSION "dev"
#endif

namespace mercure {

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};

struct Body {
  std::string text;
  std::size_t max_bytes;
  bool too_large = false;
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t n = size * count;
  if (body->text.size() + n > body->max_bytes) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->text.append(data, n);
  return n;
}

// libcurl's progress callback: a non-zero return aborts the transfer (the hub is stopping).
int abort_when_stopped(void* source, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                       curl_off_t /*ulnow*/) {
  return static_cast<const KeySetSource*>(source)->stopped() ? 1 : 0;
}

std::string fetch_http(const KeySetSource& source, const JwksFetcherOptions& options) {
  const std::string& url = source.url();
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw std::runtime_error("cannot start an HTTP client");
  Body body{{}, options.max_bytes};
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mercure-hub/" MERCURE_HUB_VERSION);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_when_stopped);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &source);
  const CURLcode rc = curl_easy_perform(c);
  if (body.too_large) throw std::runtime_error("larger than " + std::to_string(options.max_bytes) + " bytes");
  if (rc != CURLE_OK) throw std::runtime_error(error[0] != '\0' ? error : curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) throw std::runtime_error("HTTP status " + std::to_string(status));
  return std::move(body.text);
}

std::string read_file_url(const std::string& url, const JwksFetcherOptions& options) {
  std::string rest = url.substr(std::string_view("file://").size());
  const auto slash = rest.find('/');
  const std::string host = rest.substr(0, slash);
  if (!host.empty() && host != "localhost") {
    throw std::runtime_error("a file:// URL names a file of this machine (host empty or localhost, not \"" + host +
                             "\")");
  }
  const std::string path = slash == std::string::npos ? std::string() : rest.substr(slash);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  if (text.str().size() > options.max_bytes) {
    throw std::runtime_error("larger than " + std::to_string(options.max_bytes) + " bytes");
  }
  return text.str();
}

}  // namespace

JwksFetcher::JwksFetcher(std::string role, std::shared_ptr<KeySetSource> source, JwksFetcherOptions options)
    : role_(std::move(role)), source_(std::move(source)), options_(options) {}

JwksFetcher::~JwksFetcher() {
  stop();
}

std::string JwksFetcher::refresh() {
  const std::string& url = source_->url();
  std::string document;
  try {
    document = url.rfind("file://", 0) == 0 ? read_file_url(url, options_) : fetch_http(*source_, options_);
  } catch (const std::exception& e) {
    return e.what();
  }
  auto set = parse_jwk_set(document);
  if (!set) return set.error().reason;
  for (const std::string& line : set->skipped) {
    spdlog::warn("{} key set {}: {} left out", role_, url, line);
  }
  auto verifier = std::make_shared<const KeySetVerifier>(*set);
  if (verifier->key_count() == 0) {
    return "no usable key" + (set->skipped.empty() ? std::string() : " (" + set->skipped.front() + ")");
  }
  spdlog::info("{} key set: {} key{} from {}", role_, verifier->key_count(), verifier->key_count() == 1 ? "" : "s",
               url);
  source_->replace(std::move(verifier));
  return {};
}

void JwksFetcher::load() {
  if (std::string reason = refresh(); !reason.empty()) {
    throw std::runtime_error("cannot load the " + role_ + " key set from " + source_->url() + ": " + reason);
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
  auto next_periodic = Clock::now() + options_.refresh_interval;
  auto next_allowed = Clock::now();  // the first unknown kid is served at once
  for (;;) {
    const bool asked = source_->wait_for_refresh_request(next_periodic);
    if (source_->stopped()) return;
    // Asked too soon after the last fetch: wait out the interval; whoever asks meanwhile is
    // served by the one fetch that follows.
    while (asked && Clock::now() < next_allowed) {
      (void)source_->wait_for_refresh_request(next_allowed);
      if (source_->stopped()) return;
    }
    if (std::string reason = refresh(); !reason.empty()) {
      spdlog::warn("{} key set: cannot refresh from {}: {} (the keys already loaded are kept)", role_, source_->url(),
                   reason);
    }
    next_allowed = Clock::now() + options_.min_interval;
    next_periodic = Clock::now() + options_.refresh_interval;
  }
}

}  // namespace mercure
