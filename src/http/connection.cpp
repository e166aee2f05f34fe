#include "http/connection.hpp"

#include "core/metrics.hpp"
#include "http/health_handler.hpp"
#include "http/http_types.hpp"
#include "http/metrics_handler.hpp"
#include "http/publish_handler.hpp"
#include "http/shard.hpp"
#include "http/subscribe_handler.hpp"
#include "http/subscriptions_handler.hpp"
#include "http/ui_handler.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <tuple>
#include <vector>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kHubPath = "/.well-known/mercure";

// Lets the shard interrupt a connection that is waiting for its next request at shutdown.
// Lives as long as the connection (an event stream included): it also counts it.
struct RequestPhase final : ShardConnection {
  RequestPhase(Shard* s, beast::tcp_stream* st) : shard(s), stream(st) {
    shard->add_connection(this);
    shard->metrics().connection_opened(shard->id());
  }
  ~RequestPhase() {
    shard->remove_connection(this);
    shard->metrics().connection_closed(shard->id());
  }
  RequestPhase(const RequestPhase&) = delete;
  RequestPhase& operator=(const RequestPhase&) = delete;

  void shutdown() override {
    if (reading) {
      boost::system::error_code ignored;
      stream->socket().cancel(ignored);
    }
  }

  Shard* shard;
  beast::tcp_stream* stream;
  bool reading = false;
};

std::string remote_of(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

Response method_not_allowed(const Request& req, const char* allow) {
  auto res = make_text_response(req, http::status::method_not_allowed,
                                std::string("method ") + std::string(req.method_string()) + " not allowed\n");
  res.set(http::field::allow, allow);
  return res;
}

// After an error answered before the body was read (413, 431, 400), the client may still be
// sending: closing now would reset the connection and destroy the response in its receive
// buffer. Half-close, then read and discard for a bounded time and size before closing.
asio::awaitable<void> linger(beast::tcp_stream* stream) {
  constexpr std::size_t kMaxDrain = 16 * 1024 * 1024;
  boost::system::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream->expires_after(std::chrono::seconds(2));
  std::vector<char> sink(16 * 1024);
  std::size_t drained = 0;
  while (drained < kMaxDrain) {
    auto [ec, n] = co_await stream->async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    drained += n;
  }
}

void set_expiry(beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

}  // namespace

asio::awaitable<void> serve_connection(Shard* shard, tcp::socket socket) {
  const auto& opts = shard->options();
  const std::string remote = remote_of(socket);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  RequestPhase phase(shard, &stream);
  bool first = true;

  while (!shard->stopping()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(opts.max_body_bytes);
    set_expiry(stream, first ? opts.read_timeout : std::max(opts.read_timeout, opts.idle_timeout));
    first = false;

    phase.reading = true;
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    phase.reading = false;
    if (!ec && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a body of more than 1 KiB.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                                    asio::as_tuple(asio::use_awaitable));
        ec = cec;
      }
      if (!ec) std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    }
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == beast::error::timeout) {
        break;  // expected ends of a connection: quiet
      }
      Error e{Errc::bad_request, "malformed HTTP request: " + ec.message()};
      if (ec == http::error::body_limit) {
        e = Error{Errc::payload_too_large, "request body exceeds " + std::to_string(opts.max_body_bytes) + " bytes"};
      } else if (ec == http::error::header_limit) {
        e = Error{Errc::header_too_large, "request headers exceed " + std::to_string(opts.max_header_bytes) + " bytes"};
      }
      spdlog::info("request rejected: {} {} (from {})", http_status(e.code), e.reason, remote);
      shard->metrics().request_rejected(shard->id(), reject_reason_of(e));
      Request dummy;
      dummy.version(11);
      auto res = make_error_response(dummy, e);
      res.keep_alive(false);
      set_expiry(stream, opts.dispatch_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (!wec) co_await linger(&stream);
      break;
    }

    const auto parsed_at = std::chrono::steady_clock::now();
    Request req = parser.release();
    Response res;
    auto target = parse_target(req.target());
    bool is_publish = false;
    if (!target) {
      spdlog::info("request rejected: 400 {} (from {})", target.error().reason, remote);
      shard->metrics().request_rejected(shard->id(), reject_reason_of(target.error()));
      res = make_error_response(req, target.error());
    } else if (target->path == kHubPath) {
      switch (req.method()) {
        case http::verb::get:
        case http::verb::head: {
          set_expiry(stream, opts.dispatch_timeout);
          bool keep = co_await handle_subscribe(shard, &stream, &req, &*target, &buffer, remote);
          if (!keep || !stream.socket().is_open()) co_return;
          continue;
        }
        case http::verb::post:
          res = co_await handle_publish(shard, &req, &*target, remote);
          is_publish = true;
          break;
        case http::verb::options:
          res = make_preflight_response(req, opts.cors_origins);
          break;
        default:
          res = method_not_allowed(req, "GET, HEAD, POST, OPTIONS");
          add_cors_headers(req, opts.cors_origins, res);
          shard->metrics().request_rejected(shard->id(), RejectReason::method_not_allowed);
      }
    } else if (req.method() != http::verb::get && req.method() != http::verb::head &&
               (is_health_path(target->path) || is_metrics_path(shard, target->path) ||
                is_subscriptions_path(shard, target->path) || is_ui_path(shard, target->path))) {
      res = method_not_allowed(req, "GET, HEAD");
      shard->metrics().request_rejected(shard->id(), RejectReason::method_not_allowed);
    } else if (is_health_path(target->path)) {
      res = handle_health(shard, req, target->path);
    } else if (is_metrics_path(shard, target->path)) {
      res = handle_metrics(shard, req);
    } else if (is_subscriptions_path(shard, target->path)) {
      res = handle_subscriptions(shard, req, *target, remote);
    } else if (is_ui_path(shard, target->path)) {
      res = handle_ui(shard, req, *target);
    } else {
      res = make_text_response(req, http::status::not_found, "not found\n");
      shard->metrics().request_rejected(shard->id(), RejectReason::not_found);
    }

    if (shard->stopping()) res.keep_alive(false);
    set_expiry(stream, opts.dispatch_timeout);
    http::response_serializer<http::string_body> sr{res};
    if (req.method() == http::verb::head) sr.split(true);
    auto [wec, wn] = req.method() == http::verb::head
                         ? co_await http::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable))
                         : co_await http::async_write(stream, sr, asio::as_tuple(asio::use_awaitable));
    if (is_publish && !wec && res.result() == http::status::ok) {
      shard->metrics().publish_completed(shard->id(), std::chrono::steady_clock::now() - parsed_at);
    }
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

}  // namespace mercure
