#include "app/acme_client.hpp"

#include "app/acme_crypto.hpp"
#include "core/base64url.hpp"
#include "http/header_text.hpp"

#include <curl/curl.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace mercure::acme {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxBody = std::size_t{1} << 20;
constexpr int kBadNonceRetries =
    20;  // a CA may refuse any nonce (RFC 8555 section 6.5); each refusal carries a fresh one

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct Transfer {
  std::string body;
  std::string location;
  std::string nonce;
  std::string content_type;
  long retry_after = -1;
  bool too_large = false;
  const std::function<bool()>* abandon = nullptr;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->body.size() + n > kMaxBody) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, n);
  return n;
}

// A header line of curl's ("Name: value\r\n") is the field `name` (lower case).
bool name_is(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' && iequals(line.substr(0, name.size()), name);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  const auto value = [&](std::string_view name) {
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    return std::string(trim_ows(v));
  };
  if (name_is(line, "replay-nonce")) {
    t->nonce = value("replay-nonce");
  } else if (name_is(line, "location")) {
    t->location = value("location");
  } else if (name_is(line, "content-type")) {
    t->content_type = value("content-type");
  } else if (name_is(line, "retry-after")) {
    // Seconds, or an HTTP date (RFC 9110 section 10.2.3).
    const std::string v = value("retry-after");
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      t->retry_after = v.size() < 9 ? std::stol(v) : 99'999'999L;
    } else if (const time_t at = curl_getdate(v.c_str(), nullptr); at > 0) {
      t->retry_after = std::max<long>(0, static_cast<long>(at - std::time(nullptr)));
    }
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return (*t->abandon && (*t->abandon)()) ? 1 : 0;
}

Result<json::object> parse_object(const std::string& body, const char* what) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return Error{Errc::unavailable, std::string(what) + ": the ACME server answered no JSON object"};
  return std::move(v.as_object());
}

std::string string_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// "status 403 urn:ietf:params:acme:error:unauthorized: <detail>" from a problem document.
std::string problem_text(long status, const std::string& body) {
  std::string text = "status " + std::to_string(status);
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const std::string type = string_of(v.as_object(), "type");
    const std::string detail = string_of(v.as_object(), "detail");
    if (!type.empty()) text += " " + type;
    if (!detail.empty()) text += ": " + detail;
  }
  return text;
}

// `location` resolved against the URL of the request that gave it (a relative reference is allowed).
std::string absolute_url(const std::string& base, const std::string& location) {
  if (location.empty() || location.find("://") != std::string::npos) return location;
  CURLU* u = curl_url();
  std::string out = location;
  char* resolved = nullptr;
  if (u != nullptr && curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &resolved, 0) == CURLUE_OK) {
    out = resolved;
  }
  curl_free(resolved);
  curl_url_cleanup(u);
  return out;
}

bool is_bad_nonce(const std::string& body) {
  return body.find("urn:ietf:params:acme:error:badNonce") != std::string::npos;
}

}  // namespace

Client::Client(ClientOptions options, EvpPkeyPtr account_key, std::function<bool()> abandon)
    : options_(std::move(options)), account_key_(std::move(account_key)), abandon_(std::move(abandon)) {}

bool Client::wait(std::chrono::milliseconds duration) const {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    if (abandon_ && abandon_()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100), duration));
  }
  return !(abandon_ && abandon_());
}

Result<Client::Reply> Client::http(const char* method, const std::string& url, const std::string& body,
                                   const char* accept) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error{Errc::internal, "cannot start an HTTP client"};
  CURL* c = curl.get();
  Transfer t;
  t.abandon = &abandon_;
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* raw_headers = curl_slist_append(nullptr, "Content-Type: application/jose+json");
  if (accept != nullptr) raw_headers = curl_slist_append(raw_headers, (std::string("Accept: ") + accept).c_str());
  const std::unique_ptr<curl_slist, ListDeleter> headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mercure-hub/" MERCURE_HUB_VERSION " (ACME)");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  if (!options_.ca_root_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_root_file.c_str());
  if (std::string_view(method) == "POST") {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (std::string_view(method) == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  }
  const CURLcode rc = curl_easy_perform(c);
  if (t.too_large) return Error{Errc::unavailable, url + ": answer larger than 1 MiB"};
  if (rc != CURLE_OK) {
    if (abandon_ && abandon_()) return Error{Errc::unavailable, "the hub is stopping"};
    return Error{Errc::unavailable, url + ": " + (error[0] != '\0' ? error : curl_easy_strerror(rc))};
  }
  Reply reply;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  reply.body = std::move(t.body);
  reply.location = absolute_url(url, t.location);
  reply.nonce = std::move(t.nonce);
  reply.content_type = std::move(t.content_type);
  reply.retry_after = t.retry_after;
  // Any refusal's Retry-After (a rate limit, the directory in maintenance) is what the CA asks.
  if (reply.status >= 400 && reply.retry_after > retry_after_) retry_after_ = reply.retry_after;
  return reply;
}

Result<void> Client::load_directory() {
  if (!new_order_url_.empty()) return {};
  auto reply = http("GET", options_.directory_url, "", nullptr);
  if (!reply) return reply.error();
  if (reply->status != 200) {
    return Error{Errc::unavailable,
                 "directory " + options_.directory_url + ": " + problem_text(reply->status, reply->body)};
  }
  auto dir = parse_object(reply->body, "directory");
  if (!dir) return dir.error();
  new_nonce_url_ = string_of(*dir, "newNonce");
  new_account_url_ = string_of(*dir, "newAccount");
  new_order_url_ = string_of(*dir, "newOrder");
  if (new_nonce_url_.empty() || new_account_url_.empty() || new_order_url_.empty()) {
    new_order_url_.clear();
    return Error{Errc::unavailable,
                 "directory " + options_.directory_url + ": newNonce, newAccount or newOrder missing"};
  }
  auto thumbprint = jwk_thumbprint(account_key_.get());
  if (!thumbprint) return thumbprint.error();
  thumbprint_ = std::move(*thumbprint);
  return {};
}

Result<Client::Reply> Client::post(const std::string& url, const std::string& payload, const char* accept) {
  for (int attempt = 0;; ++attempt) {
    if (nonce_.empty()) {
      auto fresh = http("HEAD", new_nonce_url_, "", nullptr);
      if (!fresh) return fresh.error();
      if (fresh->nonce.empty()) return Error{Errc::unavailable, "newNonce: no Replay-Nonce header"};
      nonce_ = std::move(fresh->nonce);
    }
    json::object header{{"alg", "ES256"}, {"nonce", nonce_}, {"url", url}};
    if (account_url_.empty()) {
      auto key = jwk(account_key_.get());
      if (!key) return key.error();
      header["jwk"] = json::parse(*key);
    } else {
      header["kid"] = account_url_;
    }
    auto body = sign_request(account_key_.get(), json::serialize(header), payload);
    if (!body) return body.error();
    nonce_.clear();  // each nonce is good for one request
    auto reply = http("POST", url, *body, accept);
    if (!reply) return reply.error();
    nonce_ = reply->nonce;
    if (reply->status == 400 && is_bad_nonce(reply->body) && attempt < kBadNonceRetries) continue;
    return reply;
  }
}

Result<void> Client::register_account() {
  if (!account_url_.empty()) return {};
  json::object payload{{"termsOfServiceAgreed", true}};
  if (!options_.email.empty()) payload["contact"] = json::array{json::string("mailto:" + options_.email)};
  auto reply = post(new_account_url_, json::serialize(payload));
  if (!reply) return reply.error();
  if ((reply->status != 200 && reply->status != 201) || reply->location.empty()) {
    return Error{Errc::unavailable, "account: " + problem_text(reply->status, reply->body)};
  }
  account_url_ = reply->location;
  return {};
}

Result<std::string> Client::poll(const std::string& url, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + options_.validation_timeout;
  for (;;) {
    auto reply = post(url, "");
    if (!reply) return reply.error();
    if (reply->status != 200)
      return Error{Errc::unavailable, std::string(what) + ": " + problem_text(reply->status, reply->body)};
    auto object = parse_object(reply->body, what);
    if (!object) return object.error();
    const std::string status = string_of(*object, "status");
    if (status != "pending" && status != "processing") return std::move(reply->body);
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{Errc::unavailable, std::string(what) + ": still " + status + " after " +
                                          std::to_string(options_.validation_timeout.count()) + " s"};
    }
    const long seconds = std::clamp(reply->retry_after < 0 ? 1L : reply->retry_after, 1L, 10L);
    if (!wait(std::chrono::seconds(seconds))) return Error{Errc::unavailable, "the hub is stopping"};
  }
}

Result<std::string> Client::post_and_poll(const std::string& url, const std::string& payload, const char* what,
                                          const std::string& poll_url, const char* poll_what) {
  auto reply = post(url, payload);
  if (!reply) return reply.error();
  if (reply->status != 200)
    return Error{Errc::unavailable, std::string(what) + ": " + problem_text(reply->status, reply->body)};
  return poll(poll_url, poll_what);
}

Result<void> Client::authorize(const std::string& authz_url, const std::string& domain, const std::string& type,
                               const ChallengeHooks& hooks) {
  auto reply = post(authz_url, "");
  if (!reply) return reply.error();
  if (reply->status != 200)
    return Error{Errc::unavailable, "authorization: " + problem_text(reply->status, reply->body)};
  auto authz = parse_object(reply->body, "authorization");
  if (!authz) return authz.error();
  if (string_of(*authz, "status") == "valid") return {};
  std::string token;
  std::string challenge_url;
  if (const auto* list = authz->if_contains("challenges"); list != nullptr && list->is_array()) {
    for (const auto& c : list->as_array()) {
      if (c.is_object() && string_of(c.as_object(), "type") == type) {
        token = string_of(c.as_object(), "token");
        challenge_url = string_of(c.as_object(), "url");
      }
    }
  }
  // RFC 8555 8.1: a token is base64url, at least 128 bits; anything else is not served.
  const bool token_ok = token.size() >= 22 && std::all_of(token.begin(), token.end(), [](char ch) {
                          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
                        });
  if (!token_ok || challenge_url.empty()) {
    challenge_failed_ = true;  // another type may be offered
    return Error{Errc::unavailable,
                 "authorization: the ACME server offers no usable " + type + " challenge for \"" + domain + "\""};
  }
  if (auto presented = hooks.present(type, domain, token, token + "." + thumbprint_); !presented)
    return presented.error();
  struct Cleanup {
    const ChallengeHooks& hooks;
    const std::string& type;
    const std::string& domain;
    const std::string& token;
    ~Cleanup() { hooks.cleanup(type, domain, token); }
  } cleanup{hooks, type, domain, token};
  auto final_body = post_and_poll(challenge_url, "{}", "challenge", authz_url, "authorization");
  if (!final_body) return final_body.error();
  auto final_authz = parse_object(*final_body, "authorization");
  if (!final_authz) return final_authz.error();
  if (string_of(*final_authz, "status") == "valid") return {};
  // The failed challenge's error says why (the validator could not connect, a wrong certificate).
  std::string why = "status " + string_of(*final_authz, "status");
  if (const auto* list = final_authz->if_contains("challenges"); list != nullptr && list->is_array()) {
    for (const auto& c : list->as_array()) {
      if (!c.is_object()) continue;
      if (const auto* e = c.as_object().if_contains("error"); e != nullptr && e->is_object()) {
        why = string_of(e->as_object(), "type") + ": " + string_of(e->as_object(), "detail");
      }
    }
  }
  challenge_failed_ = true;
  return Error{Errc::unavailable, "the " + type + " challenge for \"" + domain + "\" failed: " + why};
}

Result<std::string> Client::obtain(const std::string& domain, EVP_PKEY* cert_key, const std::string& challenge,
                                   const ChallengeHooks& hooks) {
  challenge_failed_ = false;
  if (auto ok = load_directory(); !ok) return ok.error();
  if (auto ok = register_account(); !ok) return ok.error();
  const json::object identifier{{"type", "dns"}, {"value", domain}};
  auto created = post(new_order_url_, json::serialize(json::object{{"identifiers", json::array{identifier}}}));
  if (!created) return created.error();
  if (created->status != 201 || created->location.empty()) {
    return Error{Errc::unavailable, "order: " + problem_text(created->status, created->body)};
  }
  const std::string order_url = created->location;
  auto order = parse_object(created->body, "order");
  if (!order) return order.error();
  if (const auto* list = order->if_contains("authorizations"); list != nullptr && list->is_array()) {
    for (const auto& a : list->as_array()) {
      if (!a.is_string()) continue;
      if (auto ok = authorize(std::string(a.as_string()), domain, challenge, hooks); !ok) return ok.error();
    }
  }
  const std::string finalize_url = string_of(*order, "finalize");
  auto csr = csr_der(cert_key, domain);
  if (!csr) return csr.error();
  auto done_body = post_and_poll(finalize_url, json::serialize(json::object{{"csr", base64url_encode(*csr)}}),
                                 "finalize", order_url, "order");
  if (!done_body) return done_body.error();
  auto done = parse_object(*done_body, "order");
  if (!done) return done.error();
  const std::string certificate_url = string_of(*done, "certificate");
  if (string_of(*done, "status") != "valid" || certificate_url.empty()) {
    std::string why = "order: status " + string_of(*done, "status") + " after finalization";
    if (const auto* e = done->if_contains("error"); e != nullptr && e->is_object()) {
      why += " (" + string_of(e->as_object(), "type") + ": " + string_of(e->as_object(), "detail") + ")";
    }
    return Error{Errc::unavailable, why};
  }
  auto chain = post(certificate_url, "", "application/pem-certificate-chain");
  if (!chain) return chain.error();
  if (chain->status != 200) return Error{Errc::unavailable, "certificate: " + problem_text(chain->status, chain->body)};
  if (chain->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Error{Errc::unavailable, "certificate: the ACME server sent no PEM certificate chain"};
  }
  return std::move(chain->body);
}

}  // namespace mercure::acme
