#include "http/subscribe_handler.hpp"

#include "core/authorizer.hpp"
#include "core/history_replay.hpp"
#include "core/hub.hpp"
#include "core/jwt_verifier.hpp"
#include "core/metrics.hpp"
#include "core/topic_limits.hpp"
#include "http/rejection_log.hpp"
#include "http/request_auth.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <random>

namespace mercure {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string format_head(unsigned version, const SubscribeDecision& d, bool chunked) {
  std::string head;
  head.reserve(384);
  head += version == 10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n";
  for (const auto& [name, value] : kSseResponseFields) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  // Without chunks (HTTP/1.0) the stream ends when the connection does.
  head += chunked ? "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n" : "Connection: close\r\n";
  if (!d.cors_origin.empty()) {
    head += "Access-Control-Allow-Origin: ";
    head += d.cors_origin;
    head += "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
  }
  if (d.last_event_id) {
    head += "Last-Event-ID: ";
    head += *d.last_event_id;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds d) {
  // 80-100% so that clients cut off together do not all come back at the same moment.
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<long long> pick(d.count() * 8 / 10, d.count());
  return std::chrono::milliseconds(pick(rng));
}

std::optional<SteadyClock::time_point> expiry_of(const std::optional<std::int64_t>& exp) {
  if (!exp) return std::nullopt;
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return SteadyClock::now() + std::chrono::milliseconds(*exp * 1000 - now_ms);
}

}  // namespace

void add_sse_fields(const SubscribeDecision& decision, Response& res) {
  for (const auto& [name, value] : kSseResponseFields) res.set(name, value);
  if (!decision.cors_origin.empty()) {
    res.set(http::field::access_control_allow_origin, decision.cors_origin);
    res.set(http::field::access_control_allow_credentials, "true");
    res.set(http::field::vary, "Origin");
  }
  if (decision.last_event_id) res.set("Last-Event-ID", *decision.last_event_id);
}

asio::awaitable<SubscribeDecision> decide_subscribe(Shard* shard, const Request* req, const Target* target,
                                                    std::string remote) {
  const auto& opts = shard->options();
  auto reject = [&](const Error& e, std::optional<RejectReason> why = std::nullopt) {
    if (e.check.empty()) {
      log_rejection("subscribe rejected: {} {} (from {})", http_status(e.code), e.reason, remote);
    } else {
      log_rejection("subscribe rejected: {} {} (check={}, from {})", http_status(e.code), e.reason, e.check, remote);
    }
    shard->metrics().request_rejected(shard->id(), why.value_or(reject_reason_of(e)));
    SubscribeDecision out;
    out.answer = make_error_response(*req, e);
    add_cors_headers(*req, opts.cors_origins, *out.answer);
    return out;
  };

  // The token first, as the reference hub does: a bad token is a 401 whatever the query.
  auto found = find_token((*req)[http::field::authorization], target->first("authorization"),
                          (*req)[http::field::cookie], opts.cookie_name);
  if (!found) co_return reject(found.error());

  std::optional<Claims> claims;
  if (found->source == TokenSource::none) {
    if (!opts.anonymous) {
      co_return reject(Error{Errc::unauthorized, "missing subscriber token (anonymous subscribers are not allowed)",
                             kJwtCheckMissing});
    }
  } else {
    KeySetSource* key_set = shard->authorizer().subscriber_key_set();
    const auto fetches_before = fetches_ended_of(key_set);
    auto verified = shard->authorizer().verify_subscriber(found->token, shard->subscriber_tokens());
    if (!verified) {
      // A kid the key set is being fetched for: verified again once the fetch ends.
      if (auto wait = key_set_wait(key_set, verified.error(), fetches_before)) {
        (void)co_await shard->key_set_waits().wait(*wait);
        verified = shard->authorizer().verify_subscriber(found->token, shard->subscriber_tokens());
      }
    }
    if (!verified) {
      co_return reject(
          Error{Errc::unauthorized, "invalid subscriber token: " + verified.error().reason, verified.error().check});
    }
    claims = std::move(*verified);
  }
  auto topics = target->all("topic");
  if (topics.empty()) co_return reject(Error{Errc::bad_request, "missing topic parameter"});
  if (auto ok = check_subscribe_selectors(topics, opts.topic_limits); !ok) co_return reject(ok.error());
  // Held until the stream ends. Anonymous streams count against their address only.
  StreamTicket stream_ticket;
  if (found->source != TokenSource::none) {
    auto [admitted, ticket] = shard->admission().streams.open(found->token);
    if (!admitted) {
      const Error refused{Errc::too_many_requests, "too many event streams open with this token (at most " +
                                                       std::to_string(shard->admission().streams.max_per_token()) +
                                                       ")"};
      co_return reject(refused, RejectReason::too_many_streams);
    }
    stream_ticket = std::move(ticket);
  }

  std::optional<std::string> resume;
  if (auto h = (*req)["Last-Event-ID"]; !h.empty()) {
    resume = std::string(h);
  } else if (const auto* q = target->first("lastEventID"); q != nullptr && !q->empty()) {
    resume = *q;
  } else if (const auto* legacy = target->first("Last-Event-ID"); legacy != nullptr && !legacy->empty()) {
    // The query parameter's name in older drafts, which the reference still reads with
    // protocol_version_compatibility 7 (old clients that cannot set the header send it).
    resume = *legacy;
  } else if (const auto* polyfill = target->first("lastEventId"); polyfill != nullptr && !polyfill->empty()) {
    // The name event-source-polyfill (the EventSource the reference's docs point to, for
    // Authorization headers and old browsers) gives the id when it reconnects: never a header.
    resume = *polyfill;
  }
  // The Last-Event-ID response header: the resume id when it is stored, else "earliest" (also
  // from a transport without history: what the client missed cannot be replayed).
  std::optional<std::string> last_event_id;
  std::unique_ptr<HistoryReplay> replay;
  if (resume) {
    last_event_id = "earliest";
    if (History* history = shard->hub().transport().history()) {
      replay = std::make_unique<HistoryReplay>(*history, *resume);
      auto start = co_await begin_replay(*replay, shard->history_readers());
      if (!start) {
        spdlog::error("subscribe: history lookup of \"{}\" failed: {}", *resume, start.error().reason);
        co_return reject(Error{Errc::unavailable, "history is unavailable"});
      }
      last_event_id = std::move(start->response_last_event_id);
      if (start->replay_nothing) replay.reset();
    }
  }

  SubscribeDecision out;
  if (auto origin = (*req)[http::field::origin]; origin_allowed(origin, opts.cors_origins)) {
    out.cors_origin = std::string(origin);
  }
  out.last_event_id = std::move(last_event_id);
  if (req->method() == http::verb::head) {
    // HEAD: the headers a GET would get, without a body (written by the caller).
    out.answer.emplace(http::status::ok, req->version());
    co_return out;
  }

  std::optional<std::vector<SelectorPtr>> allowed_private;
  if (claims && claims->subscribe) allowed_private = shard->hub().compile(*claims->subscribe);
  auto subscriber = std::make_unique<Subscriber>(shard->hub().compile(topics), std::move(allowed_private), opts.outbox);

  SseStreamSettings settings;
  settings.chunked = req->version() >= 11;
  settings.heartbeat = opts.heartbeat;
  settings.dispatch_timeout = opts.dispatch_timeout;
  if (claims) settings.token_expiry = expiry_of(claims->exp);
  if (opts.write_timeout.count() > 0) settings.end_of_life = SteadyClock::now() + jittered(opts.write_timeout);

  if (SubscriptionRegistry* registry = shard->hub().subscriptions(); registry != nullptr) {
    // One subscription per selector, all under one subscriber id; announced once the
    // subscriber is registered and withdrawn after it left. The subscriber does not receive its
    // own connect events (the reference announces before it registers the subscriber).
    static std::atomic<std::uint64_t> next_tag{0};
    const std::uint64_t tag = next_tag.fetch_add(1, std::memory_order_relaxed) + 1;
    subscriber->set_announcement_tag(tag);
    auto subscriptions = std::make_shared<std::vector<Subscription>>();
    const std::string subscriber_id = shard->hub().new_subscriber_id();
    for (const auto& topic : topics) {
      subscriptions->push_back(Subscription{topic, subscriber_id, claims ? claims->payload_json : std::nullopt, true});
    }
    Hub* hub = &shard->hub();
    settings.on_registered = [hub, subscriptions, tag] {
      for (const auto& s : *subscriptions) hub->publish_subscription(s, tag);
    };
    settings.on_unregistered = [hub, subscriptions] {
      for (auto s : *subscriptions) {
        s.active = false;
        hub->publish_subscription(std::move(s));
      }
    };
  }

  out.stream = std::make_unique<SseStart>();
  out.stream->subscriber = std::move(subscriber);
  if (replay)
    out.stream->replay = std::make_unique<ReplayReader>(std::move(replay), shard->history_readers(), shard->io(),
                                                        &shard->dispatch_progress());
  out.stream->settings = std::move(settings);
  out.stream->remote = std::move(remote);
  out.stream->stream_ticket = std::move(stream_ticket);
  co_return out;
}

asio::awaitable<SubscribeOutcome> handle_subscribe(Shard* shard, HttpStream* stream, Request* req, Target* target,
                                                   std::string remote) {
  auto decision = co_await decide_subscribe(shard, req, target, std::move(remote));
  set_expiry(stream->tcp(), shard->options().dispatch_timeout);  // the answer's write: from now
  SubscribeOutcome out;
  if (decision.answer && req->method() == http::verb::head && decision.answer->result() == http::status::ok) {
    co_await stream->write(format_head(req->version(), decision, false), std::nullopt);
    co_return out;
  }
  if (decision.answer) {
    // HEAD: the head only (its Content-Length is the GET's): a body here would be read as the
    // next response on a kept-alive connection.
    const auto ec = co_await write_response(*stream, *decision.answer, req->method() == http::verb::head, std::nullopt);
    out.keep_alive = !ec && decision.answer->keep_alive();
    co_return out;
  }
  // The socket leaves Asio: the shard's SseReactor drives the stream from here on, and this
  // request's memory (parser, buffers, coroutine frames) is given back when the caller ends.
  stream->tcp().expires_never();
  boost::system::error_code ec;
  auto tls = stream->release_tls();
  auto socket = stream->tcp().release_socket();
  const int fd = socket.release(ec);
  if (ec) co_return out;  // gone meanwhile
  out.stream = std::move(decision.stream);
  out.stream->socket = UniqueFd(fd);
  out.stream->tls = std::move(tls);
  out.stream->head = format_head(req->version(), decision, out.stream->settings.chunked);
  co_return out;
}

}  // namespace mercure
