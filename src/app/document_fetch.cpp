#include "app/document_fetch.hpp"

#include "core/form_data.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#ifndef MERCURE_HUB_VERSION
#define MERCURE_HUB_VERSION "dev"
#endif

namespace mercure {

namespace {

DocumentFetch failure(std::string reason, bool transient) {
  DocumentFetch f;
  f.reason = std::move(reason);
  f.transient = transient;
  return f;
}

DocumentFetch success(std::string body) {
  DocumentFetch f;
  f.body = std::move(body);
  f.ok = true;
  return f;
}

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};

struct Transfer {
  std::string body;
  std::size_t max_bytes;
  bool too_large = false;
  const std::function<bool()>* abandon;
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, n);
  return n;
}

// libcurl's progress callback: a non-zero return aborts the transfer.
int progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
  const auto* t = static_cast<const Transfer*>(user);
  return (*t->abandon && (*t->abandon)()) ? 1 : 0;
}

DocumentFetch fetch_http(const std::string& url, const DocumentLimits& limits, const std::function<bool()>& abandon) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return failure("cannot start an HTTP client", true);
  Transfer transfer{{}, limits.max_bytes, false, &abandon};
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  const bool https = url.rfind("https://", 0) == 0;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mercure-hub/" MERCURE_HUB_VERSION);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  const CURLcode rc = curl_easy_perform(c);
  if (transfer.too_large) return failure("larger than " + std::to_string(limits.max_bytes) + " bytes", false);
  if (rc != CURLE_OK) return failure(error[0] != '\0' ? error : curl_easy_strerror(rc), true);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return failure("HTTP status " + std::to_string(status), status >= 500 || status == 408 || status == 429);
  }
  return success(std::move(transfer.body));
}

DocumentFetch read_file(const std::string& url, const DocumentLimits& limits) {
  std::string rest = url.substr(std::string_view("file://").size());
  rest = rest.substr(0, rest.find_first_of("?#"));
  const auto slash = rest.find('/');
  const std::string host = rest.substr(0, slash);
  if (!host.empty() && host != "localhost") {
    return failure("a file:// URL names a file of this machine (host empty or localhost, not \"" + host + "\")", false);
  }
  const std::string encoded = slash == std::string::npos ? std::string() : rest.substr(slash);
  const auto decoded = percent_decode(encoded);
  if (!decoded) return failure("a file:// URL with a '%' not followed by two hex digits", false);
  const std::string& path = *decoded;
  // Non-blocking: opening a FIFO must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return failure("cannot read " + path + ": " + std::strerror(errno), false);
  struct stat st {};
  std::string body;
  std::string error;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "not a regular file: " + path;
  } else {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      body.append(chunk, static_cast<std::size_t>(n));
      if (body.size() > limits.max_bytes) {
        error = "larger than " + std::to_string(limits.max_bytes) + " bytes";
        break;
      }
    }
  }
  ::close(fd);
  if (!error.empty()) return failure(error, false);
  return success(std::move(body));
}

}  // namespace

DocumentFetch fetch_document(const std::string& url, const DocumentLimits& limits,
                             const std::function<bool()>& abandon) {
  if (url.rfind("file://", 0) == 0) return read_file(url, limits);
  return fetch_http(url, limits, abandon);
}

std::string redact_url(const std::string& url) {
  // Everything before the last '@' after the scheme is hidden, even when that '@' is in the
  // path or query: hiding a host too is better than showing a password that holds '/' or '?'.
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = url.rfind('@');
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

}  // namespace mercure
