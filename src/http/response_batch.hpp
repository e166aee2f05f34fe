#pragma once
// The responses of a shard's HTTP/1.1 requests, sent together: a connection whose response is
// ready stages it here and waits; once the handlers already queued on the event loop have run
// (a burst of publishes acknowledged together, say), one io_uring system call sends every staged
// response, and each connection goes on with what its send took. On this kind of virtual machine
// a system call's entry and exit cost about as much as a small send itself, and a closed-loop
// publisher costs one send per request (see docs/benchmarks.md, "Publish path").
//
// Fan-out work of the shard sends the staged responses first (send_staged), so a publisher's
// acknowledgement is not held behind the fan-out of its update.
//
// A staged response is sent whole or in part exactly as one non-blocking sendmsg would send it;
// the caller writes the rest (if any) the usual way. Without io_uring (the `io_uring` option off,
// or a kernel refusing it) and for a batch of one, each is sent with its own sendmsg.
//
// Shard thread only.

#include "http/send_ring.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercure {

class ResponseBatch final {
 public:
  // `use_ring`: the `io_uring` option; `worker`: the shard's id, for the log.
  ResponseBatch(boost::asio::io_context& io, bool use_ring, unsigned worker);
  ~ResponseBatch();
  ResponseBatch(const ResponseBatch&) = delete;
  ResponseBatch& operator=(const ResponseBatch&) = delete;

  // Sends `wire` on `fd` with the batch; completes with the bytes sent or -errno (-EAGAIN when
  // the socket's buffer was full). `wire`'s bytes must stay valid until it completes.
  template <class Token>
  auto async_send(int fd, const std::array<boost::asio::const_buffer, 2>& wire, Token&& token) {
    return boost::asio::async_initiate<Token, void(int)>(
        [this, fd, &wire](auto handler) {
          stage(fd, wire, std::make_unique<Completion<decltype(handler)>>(std::move(handler)));
        },
        token);
  }

  // Sends what is staged now; the connections go on when the flush already posted runs. Called
  // before the shard's fan-out work, so that a response is not held behind it.
  void send_staged();

  // Responses staged and not sent yet, and the io_uring system calls made so far (tests).
  [[nodiscard]] std::size_t staged() const { return staged_.size(); }
  [[nodiscard]] std::uint64_t ring_submits() const { return ring_submits_; }

 private:
  // The waiting connection's completion handler (Asio's any_completion_handler of Boost 1.81
  // recurses when moved into a container).
  struct CompletionBase {
    virtual ~CompletionBase() = default;
    virtual void complete(int result) = 0;
  };
  template <class Handler>
  struct Completion final : CompletionBase {
    explicit Completion(Handler h) : handler(std::move(h)) {}
    void complete(int result) override { std::move(handler)(result); }
    Handler handler;
  };

  struct Staged {
    int fd = -1;
    std::array<iovec, 2> iov{};
    msghdr msg{};
    int result = SendRing::kNotSent;
    std::unique_ptr<CompletionBase> handler;
  };

  void stage(int fd, const std::array<boost::asio::const_buffer, 2>& wire, std::unique_ptr<CompletionBase> handler);
  void flush();  // send_staged(), then each connection sent to goes on
  SendRing* ring();

  boost::asio::io_context& io_;
  bool use_ring_;
  unsigned worker_;
  bool ring_opened_ = false;
  bool flush_posted_ = false;
  std::unique_ptr<SendRing> ring_;
  std::vector<Staged> staged_;
  std::uint64_t ring_submits_ = 0;
  std::vector<Staged> sent_;        // sent, their connections not resumed yet
  std::vector<Staged> sending_;     // the batch being sent
  std::vector<Staged> completing_;  // the batch being completed (its handlers may stage again)
};

}  // namespace mercure
