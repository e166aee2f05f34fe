// H2Connection's requests: each stream is answered by the handlers HTTP/1.1 uses (router.hpp),
// its response handed to nghttp2 (the body, or an event stream, as the DATA provider).

#include "core/metrics.hpp"
#include "http/h2_connection.hpp"
#include "http/h2_event_stream.hpp"
#include "http/publish_handler.hpp"
#include "http/rejection_log.hpp"
#include "http/router.hpp"
#include "http/subscribe_handler.hpp"
#include "http/subscriptions_handler.hpp"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace mercure {

namespace asio = boost::asio;

namespace {

// Fields that describe an HTTP/1.1 connection, not a message (RFC 9113 section 8.2.2).
bool connection_specific(http::field f) {
  return f == http::field::connection || f == http::field::keep_alive || f == http::field::transfer_encoding ||
         f == http::field::upgrade || f == http::field::proxy_connection;
}

ssize_t read_body_cb(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                     std::uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
  return static_cast<H2Connection*>(user_data)->read_body(stream_id, buf, length, data_flags);
}

// The name/value list nghttp2 copies: pointers into `storage` (lower-case names).
struct HeaderList {
  std::vector<std::string> storage;
  std::vector<nghttp2_nv> nva;

  void add(std::string name, std::string value) {
    storage.push_back(std::move(name));
    storage.push_back(std::move(value));
  }
  void build() {
    nva.clear();
    for (std::size_t i = 0; i + 1 < storage.size(); i += 2) {
      auto& n = storage[i];
      auto& v = storage[i + 1];
      nva.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                               n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
  }
};

HeaderList headers_of(const Response& res) {
  HeaderList h;
  h.storage.reserve(2 * 8);
  h.add(":status", std::to_string(res.result_int()));
  for (const auto& f : res) {
    if (connection_specific(f.name())) continue;
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    h.add(std::move(name), std::string(f.value()));
  }
  return h;
}

}  // namespace

void H2Connection::dispatch(const std::shared_ptr<Stream>& stream) {
  Stream& s = *stream;
  auto target = parse_target(s.req.target(), shard_->options().path_prefixes);
  if (!target) {
    refuse(s, target.error(), "request");
    return;
  }
  const Route route = route_of(shard_, s.req, *target);
  if (route == Route::other) {
    respond(s, answer_other(shard_, s.req, *target), s.req.method() == http::verb::head);
    return;
  }
  // The handlers may wait (the transport, a key set fetch): a coroutine, holding the stream.
  // `target`'s views are into st->req, which lives as long as the coroutine holds `st`.
  auto run = [](std::weak_ptr<H2Connection> weak, std::shared_ptr<Stream> st, Route route, Target target, Shard* shard,
                std::string remote) -> asio::awaitable<void> {
    std::optional<Response> answer;
    std::optional<SubscribeDecision> decision;
    if (route == Route::publish) {
      const auto parsed_at = std::chrono::steady_clock::now();
      auto outcome = co_await handle_publish(shard, &st->req, &target, remote);
      if (outcome.key_set_wait) {
        (void)co_await shard->key_set_waits().wait(*outcome.key_set_wait);
        outcome = co_await handle_publish(shard, &st->req, &target, remote, false);
      }
      if (outcome.refusal) {
        answer = std::move(*outcome.refusal);
      } else {
        answer = make_text_response(st->req, http::status::ok, std::move(outcome.id));
        add_cors_headers(st->req, shard->options().cors_origins, *answer);
        shard->metrics().publish_completed(shard->id(), std::chrono::steady_clock::now() - parsed_at);
      }
    } else if (route == Route::subscriptions) {
      std::optional<KeySetWait> wait;
      answer = handle_subscriptions(shard, st->req, target, remote, &wait);
      if (wait) {
        (void)co_await shard->key_set_waits().wait(*wait);
        answer = handle_subscriptions(shard, st->req, target, remote);
      }
    } else {
      decision = co_await decide_subscribe(shard, &st->req, &target, remote);
    }
    auto self = weak.lock();
    if (!self || self->closed_ || st->closed) co_return;  // the client or the connection went
    if (decision && decision->stream) {
      Response head(http::status::ok, 11);
      add_sse_fields(*decision, head);
      self->start_event_stream(*st, std::move(decision->stream), head);
    } else {
      const bool head_only = st->req.method() == http::verb::head;
      if (decision) answer = std::move(decision->answer);
      // HEAD: the headers a GET would get.
      if (decision && head_only && answer->result() == http::status::ok) add_sse_fields(*decision, *answer);
      self->respond(*st, std::move(*answer), head_only);
    }
    self->schedule_flush();
  };
  asio::co_spawn(socket_.get_executor(), run(weak_from_this(), stream, route, std::move(*target), shard_, remote_),
                 asio::detached);
}

void H2Connection::refuse(Stream& s, const Error& e, const char* what) {
  log_rejection("{} rejected: {} {} (from {}, HTTP/2)", what, http_status(e.code), e.reason, remote_);
  shard_->metrics().request_rejected(shard_->id(), reject_reason_of(e));
  respond(s, make_error_response(s.req, e), false);
}

void H2Connection::respond(Stream& s, Response res, bool head_only) {
  if (s.answered || s.closed) return;
  s.answered = true;
  s.last_progress = Clock::now();
  if (!s.complete) std::string().swap(s.req.body());  // refused before the end: not kept
  auto h = headers_of(res);
  h.build();
  s.body = std::move(res.body());
  s.body_offset = 0;
  nghttp2_data_provider provider{};
  provider.read_callback = read_body_cb;
  const bool with_body = !head_only && !s.body.empty();
  const int rv = nghttp2_submit_response(session_, s.id, h.nva.data(), h.nva.size(), with_body ? &provider : nullptr);
  if (rv != 0) spdlog::debug("HTTP/2 {}: response to stream {} not sent: {}", remote_, s.id, nghttp2_strerror(rv));
  if (const auto limit = write_limit()) arm_timer(s.last_progress + *limit);
  schedule_flush();
}

void H2Connection::start_event_stream(Stream& s, std::unique_ptr<SseStart> start, const Response& head) {
  if (streams_ending_) {
    // Stopping: REFUSED_STREAM, which a client retries (on another hub); EventSource would take a
    // 503 as final. While only draining, a subscribe under way when the GOAWAY went is served.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
    schedule_flush();
    return;
  }
  s.answered = true;
  const std::int32_t id = s.id;
  s.events = std::make_unique<H2EventStream>(*shard_, std::move(*start), nullptr);
  H2EventStream* events = s.events.get();
  s.events->set_resume([this, id, events] {
    if (events->resume_queued) return;  // one resume per flush, however many pushes
    events->resume_queued = true;
    resume(id);
  });
  auto h = headers_of(head);
  h.build();
  nghttp2_data_provider provider{};
  provider.read_callback = read_body_cb;
  const auto now = Clock::now();
  s.events->begin(now);
  if (const int rv = nghttp2_submit_response(session_, id, h.nva.data(), h.nva.size(), &provider); rv != 0) {
    spdlog::debug("HTTP/2 {}: event stream {} not started: {}", remote_, id, nghttp2_strerror(rv));
    s.events->close(DisconnectReason::client_gone);
    return;
  }
  arm_timer(s.events->next_deadline());
  schedule_flush();
  // An idle stream keeps no request (a browser's headers and cookies are a few KiB).
  s.req = Request{};
}

long H2Connection::read_body(std::int32_t id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  Stream* s = find(id);
  if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (s->events) {
    std::size_t copied = 0;
    switch (s->events->read(buf, length, copied, Clock::now())) {
      case H2EventStream::Read::data:
        return static_cast<long>(copied);
      case H2EventStream::Read::deferred:
        arm_timer(s->events->next_deadline());  // idle now: its next heartbeat may be nearer
        return NGHTTP2_ERR_DEFERRED;
      case H2EventStream::Read::eof:
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      case H2EventStream::Read::reset:
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM: the client resumes by id
    }
  }
  const std::size_t n = std::min(length, s->body.size() - s->body_offset);
  std::memcpy(buf, s->body.data() + s->body_offset, n);
  s->body_offset += n;
  s->last_progress = Clock::now();
  if (s->body_offset == s->body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    std::string().swap(s->body);
    s->body_offset = 0;
  }
  return static_cast<long>(n);
}

}  // namespace mercure
