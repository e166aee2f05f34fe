#include "http/subscriptions_handler.hpp"

#include "core/authorizer.hpp"
#include "core/form_data.hpp"
#include "core/hub.hpp"
#include "core/subscription.hpp"
#include "core/subscription_registry.hpp"
#include "http/rejection_log.hpp"
#include "http/request_auth.hpp"
#include "http/router.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

namespace mercure {

namespace {

struct ApiPath {
  std::optional<std::string> topic;
  std::optional<std::string> subscriber;
};

// "" (the collection), "/{topic}" or "/{topic}/{subscriber}", each segment percent-decoded
// ('+' as a space too: the reference hub encodes spaces that way). nullopt otherwise.
std::optional<ApiPath> parse_api_path(std::string_view rest) {
  ApiPath out;
  if (rest.empty()) return out;
  if (rest.front() != '/') return std::nullopt;
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const auto topic = rest.substr(0, slash);
  if (topic.empty()) return std::nullopt;
  out.topic = percent_decode(topic, true);
  if (!out.topic) return std::nullopt;
  if (slash == std::string_view::npos) return out;
  const auto subscriber = rest.substr(slash + 1);
  if (subscriber.empty() || subscriber.find('/') != std::string_view::npos) return std::nullopt;
  out.subscriber = percent_decode(subscriber, true);
  if (!out.subscriber) return std::nullopt;
  return out;
}

// If-None-Match: a list of entity tags (quoted, maybe weak) or "*"; an unquoted value (what
// the reference hub sends as its ETag) is compared as is.
bool none_match(std::string_view header, std::string_view tag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    if (item == tag) return true;
  }
  return false;
}

// `hub_path`: the hub's URL path as clients reach it (a Caddyfile's handle_path prefix included).
Response ld_response(const Request& req, http::status status, const std::string& last_event_id, std::string body,
                     std::string_view hub_path) {
  Response res{status, req.version()};
  if (status != http::status::not_modified) res.set(http::field::content_type, "application/ld+json");
  add_security_fields(res);
  res.set(http::field::etag, "\"" + last_event_id + "\"");
  res.set(http::field::cache_control, "must-revalidate");
  res.set(http::field::link, "<" + std::string(hub_path) + ">; rel=\"mercure\"");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  // A 304 has no body, and a Content-Length there would have to be the 200's (RFC 9110 8.6).
  if (status == http::status::not_modified) res.erase(http::field::content_length);
  return res;
}

// The URL of the resource `path` names, written as the hub writes it (the subscription's `id`):
// a space as %20 where the request had '+', no query string (a token given as ?authorization=).
std::string canonical_url(const ApiPath& path) {
  std::string url(kSubscriptionsPath);
  if (path.topic) (url += '/') += percent_encode(*path.topic, true);
  if (path.subscriber) (url += '/') += percent_encode(*path.subscriber, true);
  return url;
}

// The caller must hold a subscriber token whose mercure.subscribe claim matches the URL asked
// for (the request target as sent, or the resource's URL as the hub writes it), unless the hub
// has no subscriber key at all.
Result<void> authorize(Shard* shard, const Request& req, const Target& target, const ApiPath& path,
                       std::optional<KeySetWait>* wait) {
  const auto& opts = shard->options();
  auto found = find_token(req[http::field::authorization], target.first("authorization"), req[http::field::cookie],
                          opts.cookie_name);
  if (!found) return found.error();
  if (!shard->authorizer().has_subscriber_key()) return {};
  if (found->source == TokenSource::none) return Error{Errc::unauthorized, "missing subscriber token"};
  KeySetSource* key_set = shard->authorizer().subscriber_key_set();
  const auto fetches_before = fetches_ended_of(key_set);
  auto claims = shard->authorizer().verify_subscriber(found->token, shard->subscriber_tokens());
  if (!claims && wait != nullptr) *wait = key_set_wait(key_set, claims.error(), fetches_before);
  if (!claims) return Error{Errc::unauthorized, "invalid subscriber token: " + claims.error().reason};
  if (!claims->subscribe) return Error{Errc::forbidden, "token has no mercure.subscribe claim"};
  const std::string url(req.target());
  const std::string canonical = canonical_url(path);
  for (const auto& selector : shard->hub().compile(*claims->subscribe)) {
    if (selector->matches(url) || selector->matches(canonical)) return {};
  }
  return Error{Errc::forbidden, "mercure.subscribe does not grant access to " + url};
}

}  // namespace

bool is_subscriptions_path(const Shard* shard, std::string_view path) {
  if (!shard->options().subscriptions || !path.starts_with(kSubscriptionsPath)) return false;
  return path.size() == kSubscriptionsPath.size() || path[kSubscriptionsPath.size()] == '/';
}

Response handle_subscriptions(Shard* shard, const Request& req, const Target& target, const std::string& remote,
                              std::optional<KeySetWait>* key_set_wait) {
  const auto& opts = shard->options();
  auto reject = [&](const Error& e) {
    log_rejection("subscriptions API: {} {} (from {})", http_status(e.code), e.reason, remote);
    auto res = make_error_response(req, e);
    add_cors_headers(req, opts.cors_origins, res);
    return res;
  };
  const SubscriptionRegistry* registry = shard->hub().subscriptions();
  if (registry == nullptr) return reject(Error{Errc::not_found, "active subscriptions are not enabled"});
  auto path = parse_api_path(target.path.substr(kSubscriptionsPath.size()));
  if (!path) return reject(Error{Errc::not_found, "not a subscription URL"});
  if (auto allowed = authorize(shard, req, target, *path, key_set_wait); !allowed) {
    if (key_set_wait != nullptr && *key_set_wait) return Response{};  // the caller waits, then asks again
    return reject(allowed.error());
  }

  const std::string hub_path = opts.path_prefix + std::string(kHubPath);
  auto answer = [&](http::status status, const std::string& last_event_id, std::string body) {
    Response res = ld_response(req, status, last_event_id, std::move(body), hub_path);
    add_cors_headers(req, opts.cors_origins, res);
    return res;
  };
  // A collection the client has (its ETag is the registry's last event id) is answered before
  // it is listed: listing copies and serializes every subscription.
  const std::string_view if_none_match = req[http::field::if_none_match];
  if (!path->subscriber && !if_none_match.empty()) {
    const std::string current = registry->last_event_id();
    if (none_match(if_none_match, current)) return answer(http::status::not_modified, current, {});
  }

  std::string last_event_id;
  std::string body;
  if (path->subscriber) {
    auto [last, found] = registry->find(*path->topic, *path->subscriber);
    if (!found) return reject(Error{Errc::not_found, "no active subscription " + std::string(target.path)});
    last_event_id = std::move(last);
    body = subscription_json(*found, true, &last_event_id);
  } else {
    std::optional<std::string_view> topic;
    if (path->topic) topic = *path->topic;
    auto snapshot = registry->list(topic);
    last_event_id = std::move(snapshot.last_event_id);
    // The collection's id is its path as the hub sees it (the subscriptions' ids are too): without
    // a handle_path prefix or the absolute form's authority, with the query.
    const std::string_view raw = req.target();
    const auto query = raw.find('?');
    std::string id(target.path);
    if (query != std::string_view::npos) id += raw.substr(query);
    body = subscriptions_json(id, last_event_id, snapshot.subscriptions);
  }

  if (none_match(if_none_match, last_event_id)) return answer(http::status::not_modified, last_event_id, {});
  return answer(http::status::ok, last_event_id, std::move(body));
}

}  // namespace mercure
