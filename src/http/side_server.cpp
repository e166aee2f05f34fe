#include "http/side_server.hpp"

#include "http/connection_refusal.hpp"
#include "http/listen_host.hpp"
#include "http/metrics_handler.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <stdexcept>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kHealthPath = "/healthz";
constexpr auto kReadTimeout = std::chrono::seconds(10);  // the first request, from the accept
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);  // after a failed accept (no descriptor left)

void open_and_listen(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  if (endpoint.protocol() == tcp::v6()) {
    boost::system::error_code ignored;
    acceptor.set_option(asio::ip::v6_only(false), ignored);
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

Response metrics_answer(const Request& req, std::string_view path, const MetricsSource& source) {
  const bool known = path == kMetricsPath || path == kHealthPath;
  if (known && req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = make_text_response(req, http::status::method_not_allowed,
                                  "method " + std::string(req.method_string()) + " not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  if (path == kMetricsPath) return metrics_response(req, source);
  if (path == kHealthPath) {
    return make_json_response(req, http::status::ok,
                              R"({"status":"ok"})"
                              "\n");
  }
  return make_text_response(req, http::status::not_found, "not found\n");
}

}  // namespace

SideServer::SideServer(std::string what, std::chrono::seconds idle_timeout)
    : what_(std::move(what)), idle_timeout_(idle_timeout), acceptor_(io_) {}

SideServer::~SideServer() {
  stop();
}

void SideServer::bind(const std::string& host, std::uint16_t port) {
  tcp::endpoint endpoint(resolve_listen_host(host, " for " + what_), port);
  try {
    try {
      open_and_listen(acceptor_, endpoint);
    } catch (const boost::system::system_error&) {
      if (!host.empty()) throw;
      // No IPv6 on this machine: all interfaces means all IPv4 interfaces.
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      endpoint.address(asio::ip::address_v4::any());
      open_and_listen(acceptor_, endpoint);
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen for " + what_ + " on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + e.code().message());
  }
  host_ = host;
  port_ = acceptor_.local_endpoint().port();
}

void SideServer::start(Handler handler) {
  handler_ = std::move(handler);
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      spdlog::error("{} listener failed: {}", what_, e.what());
    }
  });
}

std::string SideServer::url() const {
  std::string host = host_.empty() ? "0.0.0.0" : host_;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port_);
}

void SideServer::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  io_.stop();  // open scrape connections are dropped with the event loop
  thread_.join();
}

asio::awaitable<void> SideServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and the like: the error would come back at once, in a loop taking a core.
      std::uint64_t left_out = 0;
      if (accept_errors_.admit(std::chrono::steady_clock::now(), left_out)) {
        spdlog::warn("{} listener: accept failed: {}{}", what_, ec.message(),
                     left_out > 0 ? " (" + std::to_string(left_out) + " more left out)" : "");
      }
      asio::steady_timer pause(io_, kAcceptRetry);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;  // gone already
    const AddressKey key = address_key(peer.address());
    const auto from_there = per_address_.find(key);
    if (open_ >= kMaxConnections || (from_there != per_address_.end() && from_there->second >= kMaxPerAddress)) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++open_;
    ++per_address_[key];
    asio::co_spawn(io_, serve(std::move(socket)), [this, key](const std::exception_ptr&) {
      --open_;
      if (--per_address_[key] == 0) per_address_.erase(key);
    });
  }
}

// GCC 12 reports -Wmismatched-new-delete at the end of this coroutine: Asio's awaitable frame has
// a class-specific operator new/delete pair, which the warning does not see through (a known
// false positive of GCC 12 with coroutines). Silenced for this function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<void> SideServer::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(first ? kReadTimeout : idle_timeout_);
    first = false;
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) break;  // closed, timed out or malformed: a scraper or a redirected browser needs no explanation
    Request req = parser.release();
    Response res = handler_(req);
    stream.expires_after(kWriteTimeout);
    http::response_serializer<http::string_body> sr{res};
    if (req.method() == http::verb::head) sr.split(true);
    auto [wec, wn] = req.method() == http::verb::head
                         ? co_await http::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable))
                         : co_await http::async_write(stream, sr, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}
#pragma GCC diagnostic pop

SideServer::Handler metrics_side_handler(const MetricsSource& source) {
  return [&source](const Request& req) {
    auto target = parse_target(req.target());
    if (!target) return make_error_response(req, target.error());
    return metrics_answer(req, target->path, source);
  };
}

}  // namespace mercure
