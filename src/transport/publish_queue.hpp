#pragma once
// What the writing transports (LMDB, Redis) share: the queue of publishes waiting for their
// writer thread, and calling callbacks so that one that throws cannot take that thread down.
//
// Thread-safety: every member may be called from any thread; take() from one writer thread.

#include "core/transport.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace mercure {

// Calls `f(args...)` unless it is empty; logs what it throws ("<who>: a <what> threw: ...").
template <class F, class... Args>
void call_quietly(const char* who, const char* what, const F& f, Args&&... args) {
  if (!f) return;
  try {
    f(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("{}: a {} threw: {}", who, what, e.what());
  } catch (...) {
    spdlog::error("{}: a {} threw", who, what);
  }
}

class PublishQueue {
 public:
  struct Pending {
    Transport::NewUpdatePtr update;
    Transport::Done done;
  };
  enum class Taken {
    batch,    // `batch` holds work
    timeout,  // nothing arrived within the timeout
    drained,  // closed, and everything queued was taken
  };

  // Queues a publish and wakes the writer; once close() was called, answers `done` at once with
  // 503 "hub is shutting down" instead (`who` names the transport in logs).
  void submit(const char* who, Transport::NewUpdatePtr update, Transport::Done done) {
    std::unique_lock lock(mutex_);
    if (closed_) {
      lock.unlock();
      call_quietly(who, "publish acknowledgement", done,
                   Result<void>(Error{Errc::unavailable, "hub is shutting down"}));
      return;
    }
    const bool was_empty = queue_.empty();
    queue_.push_back(Pending{std::move(update), std::move(done)});
    lock.unlock();
    // The writer only sleeps on an empty queue; otherwise it is busy and takes this next.
    if (was_empty) wake_.notify_one();
  }

  // Waits for work (at most `timeout`, or without limit), then moves up to `max` queued
  // publishes into `batch` (cleared first), oldest first.
  [[nodiscard]] Taken take(std::vector<Pending>& batch, std::size_t max,
                           std::optional<std::chrono::milliseconds> timeout) {
    batch.clear();
    std::unique_lock lock(mutex_);
    const auto has_work = [&] { return !queue_.empty() || closed_; };
    if (timeout) {
      if (!wake_.wait_for(lock, *timeout, has_work)) return Taken::timeout;
    } else {
      wake_.wait(lock, has_work);
    }
    if (queue_.empty()) return Taken::drained;
    const std::size_t n = std::min(queue_.size(), max);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return Taken::batch;
  }

  // Refuses further pushes and wakes the writer, which takes what is queued, then `drained`.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool closed_ = false;
};

}  // namespace mercure
