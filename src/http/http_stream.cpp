#include "http/http_stream.hpp"

#include "http/http_types.hpp"
#include "http/tls_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Ciphertext read from the socket at a time (a TLS record is at most 16 KiB and a bit).
constexpr std::size_t kRecordRead = 17 * 1024;
// records_ gives its memory back past this once sent.
constexpr std::size_t kKeepRecords = 32 * 1024;

// What a client speaking plain HTTP to the TLS port gets (as Go's servers answer it).
constexpr std::string_view kPlainHttpAnswer =
    "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    "Content-Length: 47\r\n\r\nclient sent an HTTP request to an HTTPS server\n";

// A TLS connection starts with a handshake record (content type 22); a plain HTTP one with
// the method's letters.
bool looks_like_plain_http(std::string_view first) {
  return !first.empty() && first[0] >= 'A' && first[0] <= 'Z';
}

}  // namespace

void set_expiry(boost::beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

HttpStream::HttpStream(tcp::socket socket, const TlsContext* tls) : stream_(std::move(socket)) {
  if (tls != nullptr) {
    tls_ = TlsSession::create(*tls);
    tls_required_ = true;
  }
}

asio::awaitable<HttpStream::error_code> HttpStream::handshake() {
  if (!tls_required_) co_return error_code{};
  if (!tls_) {
    tls_error_ = "out of memory for a TLS session";
    co_return make_error_code(boost::system::errc::not_enough_memory);
  }
  bool first = true;
  for (;;) {
    records_.clear();
    const auto status = tls_->handshake(records_);
    if (!records_.empty()) {
      if (auto ec = co_await send(records_, std::nullopt)) co_return ec;
    }
    if (status == TlsSession::Status::ok) co_return error_code{};
    if (status != TlsSession::Status::want_read) {
      tls_error_ = status == TlsSession::Status::closed ? "closed during the handshake" : tls_->error();
      co_return make_error_code(boost::system::errc::protocol_error);
    }
    auto space = tls_->input_space(kRecordRead);
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(space.data(), space.size()), asio::as_tuple(asio::use_awaitable));
    tls_->commit_input(ec ? 0 : n);
    if (ec) co_return ec;
    if (std::exchange(first, false) && looks_like_plain_http(tls_->input())) {
      tls_error_ = "client sent an HTTP request to an HTTPS server";
      co_await send(kPlainHttpAnswer, std::chrono::seconds(1));
      co_return make_error_code(boost::system::errc::wrong_protocol_type);
    }
  }
}

asio::awaitable<std::tuple<HttpStream::error_code, std::size_t>> HttpStream::read_some(asio::mutable_buffer buffer) {
  if (!tls_required_) co_return co_await stream_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
  if (!tls_) co_return std::tuple{error_code(asio::error::not_connected), std::size_t{0}};  // handed over
  if (buffer.size() == 0) co_return std::tuple<error_code, std::size_t>{};
  for (;;) {
    records_.clear();
    std::size_t n = 0;
    const auto status = tls_->read(static_cast<char*>(buffer.data()), buffer.size(), n, records_);
    if (!records_.empty()) {
      if (auto ec = co_await send(records_, std::nullopt)) co_return std::tuple{ec, std::size_t{0}};
    }
    switch (status) {
      case TlsSession::Status::ok:
        co_return std::tuple{error_code{}, n};
      case TlsSession::Status::closed:
        co_return std::tuple{error_code(asio::error::eof), std::size_t{0}};
      case TlsSession::Status::failed:
        tls_error_ = tls_->error();
        co_return std::tuple{make_error_code(boost::system::errc::protocol_error), std::size_t{0}};
      case TlsSession::Status::want_read:
        break;
    }
    auto space = tls_->input_space(kRecordRead);
    auto [ec, got] =
        co_await stream_.async_read_some(asio::buffer(space.data(), space.size()), asio::as_tuple(asio::use_awaitable));
    tls_->commit_input(ec ? 0 : got);
    if (ec) co_return std::tuple{ec, std::size_t{0}};
  }
}

asio::awaitable<HttpStream::error_code> HttpStream::write(std::array<asio::const_buffer, 2> wire,
                                                          std::optional<std::chrono::milliseconds> timeout) {
  if (!tls_required_) {
    if (send_now(stream_.socket(), wire)) co_return error_code{};
    if (timeout) set_expiry(stream_, *timeout);
    auto [ec, n] = co_await asio::async_write(stream_, wire, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }
  if (!tls_) co_return error_code(asio::error::not_connected);  // handed over
  const std::array<iovec, 2> plain{iovec{const_cast<void*>(wire[0].data()), wire[0].size()},
                                   iovec{const_cast<void*>(wire[1].data()), wire[1].size()}};
  records_.clear();
  if (!tls_->write(plain, wire[0].size() + wire[1].size(), records_)) {
    tls_error_ = tls_->error();
    co_return make_error_code(boost::system::errc::protocol_error);
  }
  co_return co_await send(records_, timeout);
}

asio::awaitable<HttpStream::error_code> HttpStream::write(std::string_view bytes,
                                                          std::optional<std::chrono::milliseconds> timeout) {
  co_return co_await write(std::array<asio::const_buffer, 2>{asio::buffer(bytes.data(), bytes.size()), {}}, timeout);
}

asio::awaitable<HttpStream::error_code> HttpStream::send(std::string_view bytes,
                                                         std::optional<std::chrono::milliseconds> timeout) {
  while (!bytes.empty()) {
    const ssize_t r = ::send(stream_.socket().native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN, or an error the asynchronous write meets again
    }
    bytes.remove_prefix(static_cast<std::size_t>(r));
  }
  error_code ec;
  if (!bytes.empty()) {
    if (timeout) set_expiry(stream_, *timeout);
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                                                           asio::as_tuple(asio::use_awaitable));
  }
  // A kept-alive connection does not hold the records of its largest response while idle.
  if (records_.capacity() > kKeepRecords) std::string().swap(records_);
  co_return ec;
}

void HttpStream::shutdown_send() {
  if (tls_ && tls_->handshake_done()) {
    records_.clear();
    tls_->close(records_);
    if (!records_.empty()) {
      [[maybe_unused]] const ssize_t r =
          ::send(stream_.socket().native_handle(), records_.data(), records_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void HttpStream::close() {
  stream_.close();
}

asio::awaitable<HttpStream::error_code> write_response(HttpStream& stream, const Response& res, bool head_only,
                                                       std::optional<std::chrono::milliseconds> timeout) {
  std::string head;
  serialize_response_head(res, head);
  const asio::const_buffer body = head_only ? asio::const_buffer{} : asio::buffer(res.body());
  co_return co_await stream.write({asio::buffer(head), body}, timeout);
}

}  // namespace mercure
