#pragma once
// Many non-blocking sendmsg calls, to as many sockets, in one system call: a minimal io_uring
// (raw io_uring_setup/io_uring_enter on the kernel's ABI, no liburing). A fan-out writes one
// small chunk to each of thousands of sockets; on this kind of virtual machine the system call
// entry and exit is a third of the cost of such a send, and a ring pays it once per batch.
//
// Every send carries MSG_DONTWAIT, so the kernel completes it while submitting (it never
// parks one to retry later): submit() returns with every result, and the buffers only have to
// live until then. A socket whose buffer is full gets -EAGAIN, exactly like send().
//
// One thread only: the ring is bound to the thread that creates it (open() from the thread
// that will submit).

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct io_uring_sqe;
struct io_uring_cqe;

namespace mercure {

class SendRing final {
 public:
  struct Result {
    std::uint64_t tag;
    int res;  // bytes sent, or -errno
  };

  // A ring for up to `entries` sends per batch, or nullptr with `why` set when the kernel has
  // no io_uring for this process (disabled, filtered by seccomp, too old).
  static std::unique_ptr<SendRing> open(unsigned entries, std::string& why);
  ~SendRing();
  SendRing(const SendRing&) = delete;
  SendRing& operator=(const SendRing&) = delete;

  [[nodiscard]] std::size_t capacity() const { return entries_; }
  [[nodiscard]] std::size_t queued() const { return queued_; }
  // Queues sendmsg(fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL); `msg`, its iovecs and their bytes
  // must stay valid until submit() returns. At most capacity() sends per batch.
  void queue(int fd, const msghdr& msg, std::uint64_t tag);
  // Submits what is queued and returns one result per send (in no particular order). On a
  // failure of the ring itself the sends it did not take come back with res = kNotSent (they
  // were not attempted: send them another way) and broken() turns true.
  std::span<const Result> submit();
  [[nodiscard]] bool broken() const { return broken_; }

  static constexpr int kNotSent = -0x10000;

 private:
  SendRing() = default;
  bool wait_for(unsigned completions);
  void reap();

  int fd_ = -1;
  unsigned entries_ = 0;
  unsigned queued_ = 0;
  bool broken_ = false;
  void* ring_ = nullptr;
  std::size_t ring_size_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  std::size_t sqes_size_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  std::vector<Result> results_;
};

}  // namespace mercure
