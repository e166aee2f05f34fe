#include "http/send_ring.hpp"

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mercure {

namespace {

int ring_setup(unsigned entries, io_uring_params& p) {
  return static_cast<int>(::syscall(__NR_io_uring_setup, entries, &p));
}

int ring_enter(int fd, unsigned to_submit, unsigned min_complete) {
  return static_cast<int>(
      ::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, IORING_ENTER_GETEVENTS, nullptr, 0));
}

template <class T>
T* at(void* base, std::uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

}  // namespace

std::unique_ptr<SendRing> SendRing::open(unsigned entries, std::string& why) {
  // Completions are posted to the submitting thread's ring without an interrupt of another
  // task (DEFER_TASKRUN, which needs SINGLE_ISSUER); older kernels get a plain ring.
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 2;
  int fd = ring_setup(entries, p);
  if (fd < 0 && errno == EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 2;
    fd = ring_setup(entries, p);
  }
  if (fd < 0) {
    why = std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<SendRing> ring(new SendRing());
  ring->fd_ = fd;
  if ((p.features & IORING_FEAT_SINGLE_MMAP) == 0) {
    why = "kernel too old (no IORING_FEAT_SINGLE_MMAP)";
    return nullptr;
  }
  ring->entries_ = p.sq_entries;
  ring->ring_size_ = std::max<std::size_t>(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                           p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
  void* r =
      ::mmap(nullptr, ring->ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r == MAP_FAILED) {
    why = std::string("mmap: ") + std::strerror(errno);
    return nullptr;
  }
  ring->ring_ = r;
  ring->sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  void* s = ::mmap(nullptr, ring->sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (s == MAP_FAILED) {
    why = std::string("mmap: ") + std::strerror(errno);
    return nullptr;
  }
  ring->sqes_ = static_cast<io_uring_sqe*>(s);
  ring->sq_head_ = at<unsigned>(r, p.sq_off.head);
  ring->sq_tail_ = at<unsigned>(r, p.sq_off.tail);
  ring->sq_mask_ = *at<unsigned>(r, p.sq_off.ring_mask);
  ring->sq_array_ = at<unsigned>(r, p.sq_off.array);
  ring->cq_head_ = at<unsigned>(r, p.cq_off.head);
  ring->cq_tail_ = at<unsigned>(r, p.cq_off.tail);
  ring->cq_mask_ = *at<unsigned>(r, p.cq_off.ring_mask);
  ring->cqes_ = at<io_uring_cqe>(r, p.cq_off.cqes);
  ring->results_.reserve(p.sq_entries);
  return ring;
}

SendRing::~SendRing() {
  if (sqes_ != nullptr) ::munmap(sqes_, sqes_size_);
  if (ring_ != nullptr) ::munmap(ring_, ring_size_);
  if (fd_ >= 0) ::close(fd_);
}

void SendRing::queue(int fd, const msghdr& msg, std::uint64_t tag) {
  const unsigned tail = *sq_tail_;  // only this thread writes it
  const unsigned idx = tail & sq_mask_;
  io_uring_sqe& e = sqes_[idx];
  std::memset(&e, 0, sizeof e);
  e.opcode = IORING_OP_SENDMSG;
  e.fd = fd;
  e.addr = reinterpret_cast<std::uint64_t>(&msg);
  e.len = 1;
  e.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
  e.user_data = tag;
  sq_array_[idx] = idx;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  ++queued_;
}

std::span<const SendRing::Result> SendRing::submit() {
  results_.clear();
  const unsigned to_submit = queued_;
  queued_ = 0;
  if (to_submit == 0) return {};
  int submitted = -1;
  while (!broken_) {
    submitted = ring_enter(fd_, to_submit, to_submit);
    if (submitted >= 0) break;
    if (errno != EINTR) broken_ = true;
  }
  if (submitted < 0) submitted = 0;
  if (static_cast<unsigned>(submitted) < to_submit) {
    // The kernel refused part of the batch: those sends were not attempted. The ring is not
    // used again (its left-over entries are never submitted).
    broken_ = true;
    const unsigned tail = *sq_tail_;
    for (unsigned i = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE); i != tail; ++i) {
      results_.push_back(Result{sqes_[i & sq_mask_].user_data, kNotSent});
    }
  }
  if (!wait_for(static_cast<unsigned>(submitted))) broken_ = true;
  return results_;
}

bool SendRing::wait_for(unsigned completions) {
  const std::size_t goal = results_.size() + completions;
  reap();
  while (results_.size() < goal) {
    // Non-blocking sends complete while being submitted; this only collects deferred
    // completion work, if any.
    if (ring_enter(fd_, 0, static_cast<unsigned>(goal - results_.size())) < 0 && errno != EINTR && errno != EAGAIN &&
        errno != EBUSY) {
      return false;
    }
    reap();
  }
  return true;
}

void SendRing::reap() {
  unsigned head = *cq_head_;
  const unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
  for (; head != tail; ++head) {
    const io_uring_cqe& c = cqes_[head & cq_mask_];
    results_.push_back(Result{c.user_data, c.res});
  }
  __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
}

}  // namespace mercure
