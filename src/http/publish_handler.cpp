#include "http/publish_handler.hpp"

#include "core/authorizer.hpp"
#include "core/hub.hpp"
#include "core/jwt_verifier.hpp"
#include "core/metrics.hpp"
#include "core/publish_form.hpp"
#include "core/topic_limits.hpp"
#include "http/rejection_log.hpp"
#include "http/request_auth.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace mercure {

namespace asio = boost::asio;

namespace {

bool is_form_content_type(std::string_view ct) {
  if (ct.empty()) return true;  // curl -d without a type still sends one; be lenient when absent
  auto media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return media == kForm || beast::iequals(media, kForm);  // the exact spelling is the usual one
}

// The request fields a publish reads, found in one pass over the fields (each parsed field
// knows its name as an enum) instead of one look-up by name each. Like operator[]: the first
// occurrence, empty when absent.
struct PublishFields {
  std::string_view authorization, cookie, content_type, origin, referer;

  explicit PublishFields(const Request& req) {
    bool seen[5] = {};
    auto take = [&](int i, std::string_view& into, std::string_view value) {
      if (!seen[i]) into = value;
      seen[i] = true;
    };
    for (const auto& f : req) {
      switch (f.name()) {
        case http::field::authorization:
          take(0, authorization, f.value());
          break;
        case http::field::cookie:
          take(1, cookie, f.value());
          break;
        case http::field::content_type:
          take(2, content_type, f.value());
          break;
        case http::field::origin:
          take(3, origin, f.value());
          break;
        case http::field::referer:
          take(4, referer, f.value());
          break;
        default:
          break;
      }
    }
  }
};

// Logs (naming the failed check of a token), counts and answers a refusal.
Response refuse(Shard* shard, const Request& req, const std::string& remote, const Error& e,
                std::optional<RejectReason> why = std::nullopt) {
  if (e.check.empty()) {
    log_rejection("publish rejected: {} {} (from {})", http_status(e.code), e.reason, remote);
  } else {
    log_rejection("publish rejected: {} {} (check={}, from {})", http_status(e.code), e.reason, e.check, remote);
  }
  shard->metrics().request_rejected(shard->id(), why.value_or(reject_reason_of(e)));
  auto res = make_error_response(req, e);
  add_cors_headers(req, shard->options().cors_origins, res);
  return res;
}

// The token and the CSRF check: the publisher's claims, or the refusal, or (`may_wait`) the key
// set fetch to wait for.
std::variant<Claims, Response, KeySetWait> authorize(Shard* shard, const Request& req, const PublishFields& fields,
                                                     const Target& target, const std::string& remote, bool may_wait) {
  const auto& opts = shard->options();
  auto found = find_token(fields.authorization, target.first("authorization"), fields.cookie, opts.cookie_name);
  if (!found) return refuse(shard, req, remote, found.error());
  if (found->source == TokenSource::none) {
    return refuse(shard, req, remote, Error{Errc::unauthorized, "missing publisher token", kJwtCheckMissing});
  }
  if (found->source == TokenSource::cookie) {
    auto csrf = check_publish_origin(fields.origin, fields.referer, opts.publish_origins);
    if (!csrf) return refuse(shard, req, remote, csrf.error());
  }
  KeySetSource* key_set = shard->authorizer().publisher_key_set();
  const auto fetches_before = fetches_ended_of(key_set);
  auto claims = shard->authorizer().verify_publisher(found->token, shard->publisher_tokens());
  if (!claims) {
    if (may_wait) {
      if (auto wait = key_set_wait(key_set, claims.error(), fetches_before)) return *wait;
    }
    return refuse(shard, req, remote,
                  Error{Errc::unauthorized, "invalid publisher token: " + claims.error().reason, claims.error().check});
  }
  return std::move(*claims);
}

// Everything before the transport: the token, the CSRF check, the form and its topics, then
// Hub::publish. Returns the refusal (or the key set fetch to wait for), or nothing once the
// update is with the transport, which then calls `done` (and `id`, `cors_origin` are set).
using PublishStart = std::variant<std::monostate, Response, KeySetWait>;
PublishStart start_publish(Shard* shard, const Request& req, const Target& target, const std::string& remote,
                           bool may_wait, std::string& id, std::string_view& cors_origin, Transport::Done done) {
  const auto& opts = shard->options();
  const PublishFields fields(req);
  auto authorized = authorize(shard, req, fields, target, remote, may_wait);
  if (auto* refusal = std::get_if<Response>(&authorized)) return std::move(*refusal);
  if (auto* wait = std::get_if<KeySetWait>(&authorized)) return *wait;
  auto* claims = &std::get<Claims>(authorized);

  if (!is_form_content_type(fields.content_type)) {
    return refuse(shard, req, remote,
                  Error{Errc::bad_request, "Content-Type must be application/x-www-form-urlencoded"},
                  RejectReason::bad_form);
  }
  auto form = parse_publish_form(req.body());
  if (!form) return refuse(shard, req, remote, form.error(), RejectReason::bad_form);
  if (auto ok = check_publish_topics(form->topics, opts.topic_limits); !ok) {
    const Error& e = ok.error();
    return refuse(shard, req, remote, e,
                  e.code == Errc::bad_request ? std::optional(RejectReason::bad_form) : std::nullopt);
  }

  auto published = shard->hub().publish(std::move(*form), *claims, std::move(done));
  if (!published) return refuse(shard, req, remote, published.error());
  id = std::move(*published);
  if (origin_allowed(fields.origin, opts.cors_origins)) cors_origin = fields.origin;
  return std::monostate{};
}

// One publish in flight: what its acknowledgement needs to resume the connection's coroutine
// with the response. Shared by the transport's `done` (copyable, so it holds a pointer that
// fits std::function's inline storage) and the completion posted to the shard.
template <typename Handler>
struct PendingPublish {
  PendingPublish(Handler&& h, Shard* s, const Request* r, std::string&& from)
      : handler(std::move(h)),
        executor(asio::get_associated_executor(handler)),
        shard(s),
        req(r),
        remote(std::move(from)) {}

  Handler handler;
  asio::associated_executor_t<Handler> executor;
  Shard* shard;
  const Request* req;  // owned by the connection's coroutine, suspended until the handler runs
  std::string remote;
  // Set on the shard's thread before the completion can run there.
  std::string id;
  std::string_view cors_origin;
};

// The asynchronous operation behind handle_publish. Runs once the connection's coroutine has
// suspended; completes with the response, always through the shard's executor (never inside
// the initiation).
struct PublishInitiation {
  Shard* shard;
  const Request* req;
  const Target* target;
  std::string remote;
  bool may_wait;

  template <typename Handler>
  void operator()(Handler&& handler) {
    auto pending =
        std::make_shared<PendingPublish<std::decay_t<Handler>>>(std::move(handler), shard, req, std::move(remote));
    // Called by the transport on any thread, possibly before Hub::publish returns.
    auto done = [pending](Result<void> r) {
      auto executor = pending->executor;
      asio::post(executor, [pending = std::move(pending), r = std::move(r)]() mutable {
        auto& p = *pending;
        PublishOutcome outcome;
        if (!r) {
          outcome.refusal = refuse(p.shard, *p.req, p.remote, r.error());
        } else {
          outcome.id = std::move(p.id);
          outcome.cors_origin = p.cors_origin;
        }
        auto h = std::move(p.handler);
        pending.reset();
        std::move(h)(std::move(outcome));
      });
    };
    auto started = start_publish(shard, *req, *target, pending->remote, may_wait, pending->id, pending->cors_origin,
                                 std::move(done));
    if (std::holds_alternative<std::monostate>(started)) return;
    PublishOutcome outcome;
    if (auto* refusal = std::get_if<Response>(&started)) {
      outcome.refusal = std::move(*refusal);
    } else {
      outcome.key_set_wait = std::get<KeySetWait>(started);
    }
    auto executor = pending->executor;
    asio::post(executor, [pending = std::move(pending), outcome = std::move(outcome)]() mutable {
      auto h = std::move(pending->handler);
      pending.reset();
      std::move(h)(std::move(outcome));
    });
  }
};

}  // namespace

std::optional<Response> refuse_publish_before_body(Shard* shard, const Request& req, const Target& target,
                                                   const std::string& remote) {
  const PublishFields fields(req);
  auto authorized = authorize(shard, req, fields, target, remote, true);
  if (auto* refusal = std::get_if<Response>(&authorized)) return std::move(*refusal);
  return std::nullopt;
}

asio::awaitable<PublishOutcome> handle_publish(Shard* shard, const Request* req, const Target* target,
                                               std::string remote, bool may_wait) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(PublishOutcome)>(
      PublishInitiation{shard, req, target, std::move(remote), may_wait}, asio::use_awaitable);
}

}  // namespace mercure
