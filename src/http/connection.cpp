#include "http/connection.hpp"

#include "core/admission.hpp"
#include "core/metrics.hpp"
#include "http/connection_refusal.hpp"
#include "http/h2_connection.hpp"
#include "http/http_stream.hpp"
#include "http/http_types.hpp"
#include "http/publish_handler.hpp"
#include "http/rejection_log.hpp"
#include "http/request_framing.hpp"
#include "http/response_batch.hpp"
#include "http/router.hpp"
#include "http/shard.hpp"
#include "http/sse_reactor.hpp"
#include "http/subscribe_handler.hpp"
#include "http/subscriptions_handler.hpp"
#include "http/tls_context.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Lets the shard interrupt a connection that is waiting for its next request at shutdown.
// Lives as long as the connection (an event stream included): it also counts it.
struct RequestPhase final : ShardConnection {
  RequestPhase(Shard* s, HttpStream* st) : shard(s), stream(st) {
    shard->add_connection(this);
    shard->metrics().connection_opened(shard->id());
  }
  ~RequestPhase() {
    shard->remove_connection(this);
    // An event stream counts as the same connection until it ends (SseConnection).
    if (!handed_off) shard->connection_ended();
    shard->connection_memory_freed();
  }
  RequestPhase(const RequestPhase&) = delete;
  RequestPhase& operator=(const RequestPhase&) = delete;

  void shutdown() override {
    if (reading) {
      boost::system::error_code ignored;
      stream->tcp().socket().cancel(ignored);
    }
  }

  Shard* shard;
  HttpStream* stream;
  bool reading = false;
  bool handed_off = false;
};

std::string remote_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

using SteadyClock = std::chrono::steady_clock;

// Boost.Beast 1.81 stores a header field in 16-bit offsets and throws from inside the read (out
// of the event loop) on a field of 64 KiB or more: a whole head of at most 64 KiB cannot hold one.
constexpr std::size_t kMaxHeaderLimit = 64 * 1024;

// The earlier of `start + a` and `start + b`, ignoring a zero (disabled) timeout; nullopt when
// both are disabled.
std::optional<SteadyClock::time_point> deadline_of(SteadyClock::time_point start, std::chrono::milliseconds a,
                                                   std::chrono::milliseconds b = std::chrono::milliseconds(0)) {
  std::optional<SteadyClock::time_point> out;
  for (auto t : {a, b}) {
    if (t.count() > 0 && (!out || start + t < *out)) out = start + t;
  }
  return out;
}

void set_deadline(HttpStream& s, std::optional<SteadyClock::time_point> deadline) {
  auto& stream = s.tcp();
  if (deadline) {
    stream.expires_at(*deadline);
  } else {
    stream.expires_never();
  }
}

// Feeds the bytes already in `buffer` to `parser`, consuming what it used, as Beast's reads do
// before they read: up to the end of the head unless `eager`. Needing more bytes is no error.
void parse_buffered(http::request_parser<http::string_body>& parser, beast::flat_buffer& buffer, bool eager,
                    boost::system::error_code& ec) {
  parser.eager(eager);
  while (buffer.size() > 0 && !parser.is_done() && (eager || !parser.is_header_done())) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return;
    }
    if (ec || used == 0) return;
  }
}

// Reads until `parser` has the request's head (or, when `whole`, all of it), as Beast's
// http::async_read_header / async_read do, through the connection's stream (TLS or not).
asio::awaitable<boost::system::error_code> read_request(HttpStream& stream, beast::flat_buffer& buffer,
                                                        http::request_parser<http::string_body>& parser, bool whole) {
  constexpr std::size_t kReadSize = 16 * 1024;
  for (;;) {
    boost::system::error_code ec;
    parse_buffered(parser, buffer, whole, ec);
    if (ec) co_return ec;
    if (whole ? parser.is_done() : parser.is_header_done()) co_return ec;
    auto [rec, n] = co_await stream.read_some(buffer.prepare(kReadSize));
    if (rec == asio::error::eof) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      parser.put_eof(ec);  // a request cut short: partial_message
      if (ec) co_return ec;
      continue;
    }
    if (rec) co_return rec;
    buffer.commit(n);
  }
}

std::string format_ms(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

asio::awaitable<void> serve_connection(Shard* shard, tcp::socket socket) {
  const auto& opts = shard->options();
  const std::string remote = remote_of(socket);
  boost::system::error_code endpoint_ec;
  const auto peer = socket.remote_endpoint(endpoint_ec);
  HttpStream stream(std::move(socket), opts.tls ? opts.tls->current().get() : nullptr);
  // The shard counts the connection from its assignment (Shard::assign_connection); until the
  // request phase counts it open, ending here uncounts it.
  struct Unserved {
    Shard* shard;
    bool served = false;
    ~Unserved() {
      if (!served) shard->connection_ended(false);
    }
  } unserved{shard};
  if (endpoint_ec) co_return;  // gone before it was served
  auto [verdict, ticket] = shard->admission().connections.admit(address_key(peer.address()));
  if (verdict != ConnectionLimits::Verdict::admitted) {
    // A named local: GCC 12 destroys some temporaries of a co_await expression twice.
    const std::string reason = refusal_reason(shard->admission().connections, verdict);
    co_await refuse_connection(shard, stream, reason, remote);
    co_return;
  }
  beast::flat_buffer buffer;
  std::string head;  // a response's head, reused from one request to the next
  RequestPhase phase(shard, &stream);
  unserved.served = true;
  // Begun after the shard was told to stop (accepted or handed over just before): nothing to
  // interrupt a TLS handshake or a wait for the HTTP/2 preface would reach it.
  if (shard->stopping()) co_return;
  bool first = true;
  const auto accepted = SteadyClock::now();
  if (stream.is_tls()) {
    // The handshake counts as the first request's head: both within read_header_timeout.
    set_deadline(stream, deadline_of(accepted, opts.read_header_timeout, opts.read_timeout));
    phase.reading = true;
    const auto ec = co_await stream.handshake();
    phase.reading = false;
    if (ec) {
      if (ec == boost::system::errc::wrong_protocol_type) {
        log_rejection("request rejected: 400 {} (from {})", stream.tls_error(), remote);
        shard->metrics().request_rejected(shard->id(), RejectReason::bad_request);
        co_await linger(&stream);
      } else if (ec == boost::system::errc::protocol_error) {
        spdlog::debug("TLS handshake with {} failed: {}", remote, stream.tls_error());
      } else if (ec == beast::error::timeout) {
        // A silent or trickling client, as for a plain request's head (slowloris).
        const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
            *deadline_of(accepted, opts.read_header_timeout, opts.read_timeout) - accepted);
        log_rejection("request rejected: 408 TLS handshake not completed within {} (from {})", format_ms(limit),
                      remote);
        shard->metrics().request_rejected(shard->id(), RejectReason::request_timeout);
      }
      stream.close();
      co_return;
    }
  }
  // HTTP/2: chosen by ALPN, or (h2c) a plain connection that starts with the preface.
  bool h2 = stream.negotiated_h2();
  if (!stream.is_tls() && opts.h2c) {
    set_deadline(stream, deadline_of(accepted, opts.read_header_timeout, opts.read_timeout));
    for (;;) {
      const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
      const std::size_t n = std::min(got.size(), kH2Preface.size());
      if (got.substr(0, n) != kH2Preface.substr(0, n)) break;  // HTTP/1.x
      if (n == kH2Preface.size()) {
        h2 = true;
        break;
      }
      phase.reading = true;
      auto [ec, got_n] =
          co_await stream.tcp().async_read_some(buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
      phase.reading = false;
      if (ec) co_return;  // gone, silent past read_header_timeout, or shutting down
      buffer.commit(got_n);
    }
  }
  if (h2) {
    if (shard->stopping()) co_return;
    stream.tcp().expires_never();
    std::string received(static_cast<const char*>(buffer.data().data()), buffer.size());
    auto tls = stream.release_tls();
    phase.handed_off = true;  // counted as open until the HTTP/2 connection ends
    serve_http2(shard, stream.tcp().release_socket(), std::move(tls), std::move(received), std::move(ticket), remote);
    co_return;
  }

  while (!shard->stopping()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min(opts.max_header_bytes, kMaxHeaderLimit)));
    parser.body_limit(opts.max_body_bytes);
    if (!first && buffer.size() == 0) {
      // Kept alive between requests: the next one must start within idle_timeout.
      set_expiry(stream.tcp(), opts.idle_timeout);
      phase.reading = true;
      // Plain: the socket's own read (a coroutine frame less per request on the hot path).
      auto [ec, n] = stream.is_tls() ? co_await stream.read_some(buffer.prepare(4096))
                                     : co_await stream.tcp().async_read_some(buffer.prepare(4096),
                                                                             asio::as_tuple(asio::use_awaitable));
      phase.reading = false;
      if (ec) break;  // idle, gone, or shutting down: quiet
      buffer.commit(n);
    }
    // From the accept (first request) or the request's first byte: the head within
    // read_header_timeout, the whole request within read_timeout. Beast's deadline covers every
    // read of the operation, so a client trickling bytes cannot extend it.
    const bool first_request = std::exchange(first, false);
    const auto started = first_request ? accepted : SteadyClock::now();

    // A request usually arrives whole in one read: what the buffer holds is parsed here, and
    // Beast's reads (which complete through a post even with nothing to read) only fetch the rest.
    boost::system::error_code ec;
    parse_buffered(parser, buffer, false, ec);
    if (!ec && !parser.is_header_done()) {
      set_deadline(stream, deadline_of(started, opts.read_header_timeout, opts.read_timeout));
      phase.reading = true;
      ec = co_await read_request(stream, buffer, parser, false);
      phase.reading = false;
    }
    // How the body is delimited is decided before any of it is read (request smuggling).
    std::optional<Error> bad_framing;
    if (!ec && parser.is_header_done()) bad_framing = framing_error(parser.get());
    if (!ec && !bad_framing && parser.is_header_done()) join_cookie_fields(parser.get());
    if (!ec && !bad_framing && !parser.is_done()) set_deadline(stream, deadline_of(started, opts.read_timeout));
    if (!ec && !bad_framing && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a large body: a publisher whose
      // token is refused is answered now, and the connection closed (its body is not read).
      if (expects_continue(parser.get())) {
        if (parser.get().method() == http::verb::post) {
          if (auto target = parse_target(parser.get().target(), opts.path_prefixes);
              target && target->path == kHubPath) {
            if (auto refusal = refuse_publish_before_body(shard, parser.get(), *target, remote)) {
              refusal->keep_alive(false);
              const auto wec = co_await write_response(stream, *refusal, false, opts.dispatch_timeout);
              if (!wec) co_await linger(&stream);
              break;
            }
          }
        }
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        ec = co_await stream.write(kContinue, std::nullopt);  // within the request's deadline
      }
      if (!ec) parse_buffered(parser, buffer, true, ec);
      if (!ec && !parser.is_done()) {
        ec = co_await read_request(stream, buffer, parser, true);
      }
    }
    if (ec == beast::error::timeout && (first_request || parser.got_some())) {
      // A silent or trickling client (slowloris). Beast closed the socket at the deadline, so
      // there is no answer to write: count it, log it, and let the connection go.
      const bool head = !parser.is_header_done();
      const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
          head ? *deadline_of(started, opts.read_header_timeout, opts.read_timeout) - started : opts.read_timeout);
      log_rejection("request rejected: 408 request {} not received within {} (from {})", head ? "head" : "body",
                    format_ms(limit), remote);
      shard->metrics().request_rejected(shard->id(), RejectReason::request_timeout);
      break;
    }
    if (ec || bad_framing) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == beast::error::timeout) {
        break;  // expected ends of a connection: quiet
      }
      Error e{Errc::bad_request, "malformed HTTP request: " + ec.message()};
      if (bad_framing) {
        e = std::move(*bad_framing);
      } else if (ec == http::error::body_limit) {
        e = Error{Errc::payload_too_large, "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes"};
      } else if (ec == http::error::header_limit) {
        e = Error{Errc::header_too_large, "request headers exceed " + std::to_string(opts.max_header_bytes) + " bytes"};
      }
      log_rejection("request rejected: {} {} (from {})", http_status(e.code), e.reason, remote);
      shard->metrics().request_rejected(shard->id(), reject_reason_of(e));
      Request dummy;
      dummy.version(11);
      auto res = make_error_response(dummy, e);
      res.keep_alive(false);
      const auto wec = co_await write_response(stream, res, false, opts.dispatch_timeout);
      if (!wec) co_await linger(&stream);
      break;
    }

    const auto parsed_at = std::chrono::steady_clock::now();
    Request req = parser.release();
    Response res;
    auto target = parse_target(req.target(), opts.path_prefixes);
    std::optional<PublishOutcome> published;  // a publish's 200: written without a Beast message
    if (!target) {
      log_rejection("request rejected: 400 {} (from {})", target.error().reason, remote);
      shard->metrics().request_rejected(shard->id(), reject_reason_of(target.error()));
      res = make_error_response(req, target.error());
    } else {
      switch (route_of(shard, req, *target)) {
        case Route::subscribe: {
          set_expiry(stream.tcp(), opts.dispatch_timeout);
          auto outcome = co_await handle_subscribe(shard, &stream, &req, &*target, remote);
          if (outcome.stream) {
            // Stopped: the start closes the socket unanswered (the client retries elsewhere). A
            // subscribe under way when a drain began is served, and drained with the others.
            if (shard->streams_stopped()) co_return;
            outcome.stream->connection_ticket = std::move(ticket);
            phase.handed_off = true;
            shard->streams().open(std::move(*outcome.stream));
            co_return;  // this frame, its parser and buffer are freed: the stream goes on alone
          }
          if (!outcome.keep_alive || !stream.tcp().socket().is_open()) co_return;
          continue;
        }
        case Route::publish: {
          auto outcome = co_await handle_publish(shard, &req, &*target, remote);
          if (outcome.key_set_wait) {
            // The token's kid is being fetched: once the fetch ends (or after KeySetWaits::kMaxWait)
            // the publish goes on, or is refused like any other.
            (void)co_await shard->key_set_waits().wait(*outcome.key_set_wait);
            outcome = co_await handle_publish(shard, &req, &*target, remote, false);
          }
          if (outcome.refusal) {
            res = std::move(*outcome.refusal);
          } else {
            published = std::move(outcome);
          }
          break;
        }
        case Route::subscriptions: {
          std::optional<KeySetWait> wait;
          res = handle_subscriptions(shard, req, *target, remote, &wait);
          if (wait) {  // the token's kid is being fetched
            (void)co_await shard->key_set_waits().wait(*wait);
            res = handle_subscriptions(shard, req, *target, remote);
          }
          break;
        }
        case Route::other:
          res = answer_other(shard, req, *target);
          break;
      }
    }

    // The bytes http::async_write would send (HEAD: the head only), in one gather write.
    head.clear();
    bool keep_alive = false;
    asio::const_buffer body;
    if (published) {
      keep_alive = req.keep_alive() && !shard->stopping();
      append_ok_text_head(head, req.version(), keep_alive, published->id.size(), published->cors_origin);
      body = asio::buffer(published->id);
    } else {
      // A 503 (shutting down, or a store refusing writes): the client reconnects rather than
      // sending its next request on a connection the hub may be about to close unanswered.
      if (shard->stopping() || res.result() == http::status::service_unavailable) res.keep_alive(false);
      keep_alive = res.keep_alive();
      serialize_response_head(res, head);
      if (req.method() != http::verb::head) body = asio::buffer(res.body());
    }
    std::array<asio::const_buffer, 2> wire{asio::buffer(head), body};
    boost::system::error_code wec;
    bool sent = false;
    if (!stream.is_tls()) {
      // With the other responses ready in this turn of the event loop, in one system call.
      const int n =
          co_await shard->responses().async_send(stream.tcp().socket().native_handle(), wire, asio::use_awaitable);
      sent = n > 0 && consume_sent(wire, static_cast<std::size_t>(n));
    }
    if (!sent) wec = co_await stream.write(wire, opts.dispatch_timeout);
    if (published && !wec) {
      shard->metrics().publish_completed(shard->id(), std::chrono::steady_clock::now() - parsed_at);
    }
    if (wec || !keep_alive) break;
  }
  stream.shutdown_send();
  stream.close();
}

}  // namespace mercure
