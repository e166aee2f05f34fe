#include "http/h2_connection.hpp"

#include "http/h2_event_stream.hpp"
#include "http/tls_session.hpp"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Read from the socket per readiness event before the event loop's other work.
constexpr std::size_t kMaxReadPerTurn = 256 * 1024;
// Frames produced ahead of the socket: above this, nghttp2 is asked for more only once sent.
constexpr std::size_t kOutHigh = 64 * 1024;
// Written per flush before the event loop's other work (a long replay shares the shard).
constexpr std::size_t kFlushBudget = 512 * 1024;
// out_ and plain_ give their memory back past this once empty.
constexpr std::size_t kKeepBuffer = 32 * 1024;
// Streams a client may open at once (Go's servers allow 250).
constexpr std::uint32_t kMaxConcurrentStreams = 250;

// How long a connection may go without its first stream: as HTTP/1.1's first request head
// (read_header_timeout, and read_timeout), else idle_timeout. 0 = no limit.
std::chrono::milliseconds first_request_limit(const ServerOptions& opts) {
  std::chrono::milliseconds limit{0};
  for (auto t : {opts.read_header_timeout, opts.read_timeout}) {
    if (t.count() > 0 && (limit.count() == 0 || t < limit)) limit = t;
  }
  return limit.count() > 0 ? limit : opts.idle_timeout;
}

H2Connection* conn(void* user_data) {
  return static_cast<H2Connection*>(user_data);
}

int on_begin_headers_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  return conn(user_data)->on_begin_headers(frame->hd.stream_id);
}

int on_header_cb(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                 const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  return conn(user_data)->on_header(frame->hd.stream_id, std::string_view(reinterpret_cast<const char*>(name), namelen),
                                    std::string_view(reinterpret_cast<const char*>(value), valuelen),
                                    frame->headers.cat == NGHTTP2_HCAT_REQUEST);
}

int on_frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) return conn(user_data)->on_frame(frame->hd.stream_id, true, end);
  if (frame->hd.type == NGHTTP2_DATA) return conn(user_data)->on_frame(frame->hd.stream_id, false, end);
  return 0;
}

int on_data_chunk_recv_cb(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                          std::size_t len, void* user_data) {
  return conn(user_data)->on_data(stream_id, data, len);
}

int on_frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (end && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
    conn(user_data)->on_response_sent(frame->hd.stream_id);
  }
  return 0;
}

int on_stream_close_cb(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user_data) {
  return conn(user_data)->on_stream_close(stream_id, error_code);
}

struct Callbacks {
  nghttp2_session_callbacks* cbs = nullptr;
  Callbacks() {
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close_cb);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send_cb);
  }
  ~Callbacks() { nghttp2_session_callbacks_del(cbs); }
  Callbacks(const Callbacks&) = delete;
  Callbacks& operator=(const Callbacks&) = delete;
};

}  // namespace

void serve_http2(Shard* shard, tcp::socket socket, std::unique_ptr<TlsSession> tls, std::string received,
                 ConnectionTicket ticket, std::string remote) {
  auto c =
      std::make_shared<H2Connection>(shard, std::move(socket), std::move(tls), std::move(ticket), std::move(remote));
  c->start(std::move(received));
}

H2Connection::H2Connection(Shard* shard, tcp::socket socket, std::unique_ptr<TlsSession> tls, ConnectionTicket ticket,
                           std::string remote)
    : shard_(shard),
      socket_(std::move(socket)),
      tls_(std::move(tls)),
      ticket_(std::move(ticket)),
      remote_(std::move(remote)),
      timer_(shard->io()),
      idle_since_(Clock::now()) {
  static const Callbacks callbacks;
  nghttp2_session_server_new(&session_, callbacks.cbs, this);
  shard_->add_connection(this);
}

H2Connection::~H2Connection() {
  // Event streams leave the index before the session (and the streams' data) go.
  for (auto& [id, s] : streams_) {
    s->closed = true;
    s->events.reset();
  }
  streams_.clear();
  if (!closed_) shard_->remove_connection(this);
  if (session_ != nullptr) nghttp2_session_del(session_);
  shard_->connection_ended();
  shard_->connection_memory_freed();
}

void H2Connection::start(std::string received) {
  if (session_ == nullptr) {
    close();
    return;
  }
  const auto& opts = shard_->options();
  std::vector<nghttp2_settings_entry> settings{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(opts.max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  if (!received.empty() && !feed(received.data(), received.size())) return;
  // Bytes the TLS session already holds (they came with the handshake's last records).
  if (tls_ && tls_->input_pending() > 0) {
    on_readable();
  } else {
    wait_readable();
    flush();
  }
  if (const auto limit = first_request_limit(opts); limit.count() > 0) arm_timer(idle_since_ + limit);
}

void H2Connection::wait_for(tcp::socket::wait_type type, bool H2Connection::*waiting, void (H2Connection::*then)()) {
  if (this->*waiting || closed_) return;
  this->*waiting = true;
  socket_.async_wait(type, [self = shared_from_this(), waiting, then](boost::system::error_code ec) {
    self.get()->*waiting = false;
    if (self->closed_) return;
    if (ec) {
      self->close();
      return;
    }
    (self.get()->*then)();
  });
}

void H2Connection::wait_readable() {
  wait_for(tcp::socket::wait_read, &H2Connection::reading_, &H2Connection::on_readable);
}

void H2Connection::on_readable() {
  thread_local std::array<char, 16 * 1024> plain;
  std::size_t total = 0;
  bool more = true;
  while (more && total < kMaxReadPerTurn && !closed_) {
    ssize_t r = 0;
    int error = 0;
    if (tls_) {
      auto space = tls_->input_space(17 * 1024);
      r = ::recv(socket_.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
      error = errno;
      tls_->commit_input(r > 0 ? static_cast<std::size_t>(r) : 0);
      // Decrypt whatever whole records are there (also those that came with the handshake).
      for (;;) {
        std::size_t n = 0;
        const auto status = tls_->read(plain.data(), plain.size(), n, out_);
        if (status == TlsSession::Status::ok && n > 0) {
          if (!feed(plain.data(), n)) return;
          continue;
        }
        if (status == TlsSession::Status::ok) break;
        if (status == TlsSession::Status::want_read) break;
        if (status == TlsSession::Status::failed) spdlog::debug("HTTP/2 {}: TLS error: {}", remote_, tls_->error());
        close();  // closing alert or protocol error
        return;
      }
    } else {
      r = ::recv(socket_.native_handle(), plain.data(), plain.size(), MSG_DONTWAIT);
      error = errno;
      if (r > 0 && !feed(plain.data(), static_cast<std::size_t>(r))) return;
    }
    if (r == 0) {
      close();  // the peer is gone
      return;
    }
    if (r < 0) {
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        close();
        return;
      }
      more = false;
    } else {
      total += static_cast<std::size_t>(r);
    }
  }
  if (closed_) return;
  if (tls_ && total > 0) tls_->release_buffers();
  if (more) {
    // The budget is spent with bytes still there: go on after the shard's other work.
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_) self->on_readable();
    });
  } else {
    wait_readable();
  }
  flush();
}

bool H2Connection::feed(const char* data, std::size_t size) {
  const auto r = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), size);
  if (r < 0) {
    spdlog::debug("HTTP/2 {}: {}", remote_, nghttp2_strerror(static_cast<int>(r)));
    // nghttp2 queued a GOAWAY for a protocol error: sent if the socket takes it now.
    flush();
    close();
    return false;
  }
  return true;
}

void H2Connection::resume(std::int32_t id) {
  to_resume_.push_back(id);
  schedule_flush();
}

void H2Connection::schedule_flush() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void H2Connection::flush() {
  if (closed_ || in_flush_) return;
  in_flush_ = true;
  std::vector<std::int32_t> resumed;
  resumed.swap(to_resume_);
  for (const std::int32_t id : resumed) {
    Stream* s = find(id);
    if (s == nullptr || !s->events) continue;
    s->events->resume_queued = false;
    if (s->events->overflowed()) {
      // The subscriber did not keep up (its window may be shut: read() would never be called).
      s->events->close(DisconnectReason::slow);
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      continue;
    }
    nghttp2_session_resume_data(session_, id);
    // A deadline that came nearer (bytes now wait for the client's window).
    arm_timer(s->events->next_deadline());
  }
  if (to_resume_.empty()) {
    resumed.clear();
    to_resume_.swap(resumed);  // its capacity, for the next turn
  }
  std::size_t written = 0;
  bool blocked = false;
  for (;;) {
    // Frames, as long as nghttp2 has some and the socket keeps up.
    while (out_.size() - out_offset_ + plain_.size() < kOutHigh && nghttp2_session_want_write(session_) != 0) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        spdlog::debug("HTTP/2 {}: {}", remote_, nghttp2_strerror(static_cast<int>(n)));
        in_flush_ = false;
        close();
        return;
      }
      if (n == 0) break;
      (tls_ ? plain_ : out_).append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (tls_ && !plain_.empty()) {
      if (!tls_->write(plain_, out_)) {
        spdlog::debug("HTTP/2 {}: TLS write failed: {}", remote_, tls_->error());
        in_flush_ = false;
        close();
        return;
      }
      if (plain_.capacity() > kKeepBuffer) {
        std::string().swap(plain_);
      } else {
        plain_.clear();
      }
    }
    if (out_offset_ == out_.size()) break;
    while (out_offset_ < out_.size()) {
      const ssize_t r = ::send(socket_.native_handle(), out_.data() + out_offset_, out_.size() - out_offset_,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          blocked = true;
          break;
        }
        in_flush_ = false;
        close();
        return;
      }
      out_offset_ += static_cast<std::size_t>(r);
      written += static_cast<std::size_t>(r);
    }
    if (blocked) break;
    if (out_.capacity() > kKeepBuffer) {
      std::string().swap(out_);
    } else {
      out_.clear();
    }
    out_offset_ = 0;
    if (written >= kFlushBudget && nghttp2_session_want_write(session_) != 0) {
      in_flush_ = false;
      schedule_flush();  // the rest after the shard's other connections
      return;
    }
  }
  in_flush_ = false;
  if (blocked) {
    // A write that makes progress is not stuck: the limit counts from the last bytes taken.
    if (write_blocked_since_ == Clock::time_point{} || written > 0) {
      write_blocked_since_ = Clock::now();
      if (const auto limit = write_limit()) arm_timer(write_blocked_since_ + *limit);
    }
    wait_writable();
    return;
  }
  write_blocked_since_ = {};
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) close();
}

void H2Connection::wait_writable() {
  wait_for(tcp::socket::wait_write, &H2Connection::writing_, &H2Connection::flush);
}

void H2Connection::arm_timer(Clock::time_point at) {
  if (closed_ || at >= timer_at_) return;
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this(), at](boost::system::error_code ec) {
    if (ec || self->closed_ || self->timer_at_ != at) return;  // replaced by an earlier one
    self->timer_at_ = Clock::time_point::max();
    self->on_timer();
  });
}

void H2Connection::on_timer() {
  const auto now = Clock::now();
  const auto& opts = shard_->options();
  auto next = Clock::time_point::max();
  if (const auto limit = write_limit(); limit && write_blocked_since_ != Clock::time_point{}) {
    if (now >= write_blocked_since_ + *limit) {
      spdlog::info("HTTP/2 connection {} closed: the socket took nothing for {} ms", remote_,
                   std::chrono::duration_cast<std::chrono::milliseconds>(*limit).count());
      close(DisconnectReason::write_timeout);
      return;
    }
    next = write_blocked_since_ + *limit;
  }
  if (streams_.empty()) {
    const auto limit = any_stream_ ? opts.idle_timeout : first_request_limit(opts);
    if (limit.count() > 0) {
      if (now >= idle_since_ + limit) {
        // Idle (or never asked for anything): GOAWAY, then closed once it is sent.
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        flush();
        if (!closed_) close();
        return;
      }
      next = std::min(next, idle_since_ + limit);
    }
  }
  // Copied: a deadline may end a stream.
  std::vector<std::shared_ptr<Stream>> live;
  live.reserve(streams_.size());
  for (auto& [id, s] : streams_) live.push_back(s);
  for (auto& s : live) {
    if (s->closed) continue;
    if (!s->complete && !s->answered && opts.read_timeout.count() > 0) {
      if (now >= s->started + opts.read_timeout) {
        refuse(*s,
               Error{Errc::request_timeout,
                     "request not received within " + std::to_string(opts.read_timeout.count()) + "ms"},
               "request");
        continue;
      }
      next = std::min(next, s->started + opts.read_timeout);
    }
    if (s->answered && !s->events) {
      // An answer whose client gives it no window.
      const auto limit = write_limit();
      if (limit && now >= s->last_progress + *limit) {
        spdlog::debug("HTTP/2 {}: stream {} reset: its response took nothing for {} ms", remote_, s->id,
                      std::chrono::duration_cast<std::chrono::milliseconds>(*limit).count());
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        continue;
      }
      if (limit) next = std::min(next, s->last_progress + *limit);
    }
    if (s->events) {
      DisconnectReason why{};
      if (!s->events->on_deadline(now, why)) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        continue;
      }
      next = std::min(next, s->events->next_deadline());
    }
  }
  flush();
  if (!closed_ && next != Clock::time_point::max()) arm_timer(next);
}

void H2Connection::drain() {
  if (closed_ || shutting_down_) return;
  shutting_down_ = true;
  // Streams under way are answered, event streams go on to their end; no new one is taken. With
  // the GOAWAY sent and no stream left, nghttp2 wants nothing more: flush() closes.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  schedule_flush();
}

void H2Connection::shutdown() {
  if (closed_) return;
  drain();
  streams_ending_ = true;
  for (auto& [id, s] : streams_) {
    if (s->events) s->events->finish(DisconnectReason::shutdown);
  }
}

void H2Connection::announce_again() {
  for (auto& [id, s] : streams_) {
    if (s->events) s->events->announce_again();
  }
}

void H2Connection::close(DisconnectReason why) {
  if (closed_) return;
  closed_ = true;
  shard_->remove_connection(this);
  for (auto& [id, s] : streams_) {
    s->closed = true;
    if (s->events) s->events->close(why);
  }
  if (tls_ && tls_->handshake_done() && out_offset_ == out_.size()) {
    // The closing alert, when nothing unsent would come after it (best effort).
    std::string alert;
    tls_->close(alert);
    [[maybe_unused]] const ssize_t r =
        ::send(socket_.native_handle(), alert.data(), alert.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);  // cancels the waits: their handlers release this
  timer_.cancel();
}

// nghttp2's callbacks.

int H2Connection::on_begin_headers(std::int32_t id) {
  auto s = std::make_shared<Stream>();
  s->id = id;
  s->req.version(11);
  s->started = Clock::now();
  streams_.emplace(id, std::move(s));
  any_stream_ = true;
  const auto timeout = shard_->options().read_timeout;
  if (timeout.count() > 0) arm_timer(Clock::now() + timeout);
  return 0;
}

int H2Connection::on_header(std::int32_t id, std::string_view name, std::string_view value, bool request_headers) {
  Stream* s = find(id);
  if (s == nullptr || s->refused || !request_headers) return 0;  // trailers are not read
  s->header_bytes += name.size() + value.size() + 32;            // as SETTINGS_MAX_HEADER_LIST_SIZE counts
  const std::size_t limit = shard_->options().max_header_bytes;
  if (s->header_bytes > limit) {
    s->refused = Error{Errc::header_too_large, "request headers exceed " + std::to_string(limit) + " bytes"};
    return 0;
  }
  if (name == ":method") {
    s->req.method_string(value);
  } else if (name == ":path") {
    s->req.target(value);
  } else if (name == ":authority") {
    s->req.set(http::field::host, value);
  } else if (name == "cookie" && s->req.find(http::field::cookie) != s->req.end()) {
    // Split cookies are one field again (RFC 9113 section 8.2.3).
    std::string joined(s->req[http::field::cookie]);
    joined += "; ";
    joined += value;
    s->req.set(http::field::cookie, joined);
  } else if (!name.empty() && name[0] != ':') {
    s->req.insert(name, value);
  }
  return 0;
}

int H2Connection::on_frame(std::int32_t id, bool headers, bool end_stream) {
  Stream* s = find(id);
  if (s == nullptr || s->complete) return 0;
  if (headers && s->refused && !s->answered) {
    s->complete = end_stream;  // a whole request refused needs no RST_STREAM after its answer
    refuse(*s, *s->refused, "request");
    return 0;
  }
  if (!end_stream) return 0;
  s->complete = true;
  if (!s->answered) dispatch(streams_.at(id));
  return 0;
}

int H2Connection::on_data(std::int32_t id, const std::uint8_t* data, std::size_t len) {
  Stream* s = find(id);
  if (s == nullptr || s->refused || s->answered) return 0;
  const std::size_t limit = shard_->options().max_body_bytes;
  if (s->req.body().size() + len > limit) {
    s->refused = Error{Errc::payload_too_large, "request body exceeds " + std::to_string(limit) + " bytes"};
    refuse(*s, *s->refused, "request");
    return 0;
  }
  s->req.body().append(reinterpret_cast<const char*>(data), len);
  return 0;
}

std::optional<H2Connection::Clock::duration> H2Connection::write_limit() const {
  if (shard_->options().dispatch_timeout.count() > 0) return shard_->options().dispatch_timeout;
  return std::nullopt;
}

void H2Connection::on_response_sent(std::int32_t id) {
  Stream* s = find(id);
  // Answered before the request was all received (408, 413, 431): the rest is not wanted
  // (RFC 9113 section 8.1), and the stream must not stay half open.
  if (s != nullptr && !s->complete) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
}

int H2Connection::on_stream_close(std::int32_t id, std::uint32_t) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->closed = true;
  if (it->second->events) it->second->events->close(DisconnectReason::client_gone);
  streams_.erase(it);  // a handler still running keeps its Stream
  if (streams_.empty()) {
    idle_since_ = Clock::now();
    const auto idle = shard_->options().idle_timeout;
    if (idle.count() > 0) arm_timer(idle_since_ + idle);
  }
  return 0;
}

H2Connection::Stream* H2Connection::find(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

}  // namespace mercure
