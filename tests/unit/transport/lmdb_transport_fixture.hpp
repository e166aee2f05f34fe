#pragma once
// Helpers shared by the LmdbTransport tests: a transport on a store in a fresh temporary
// directory (removed in TearDown), one-shot gates and acknowledgement counters that wait with a
// deadline (never a sleep).

#include "transport/lmdb_transport.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mercure::test {

inline constexpr auto kDeadline = std::chrono::seconds(60);

inline Transport::NewUpdatePtr new_update(std::string id) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {"https://example.com/t"};
  u->data = "x";
  u->frame = "id: " + u->id + "\ndata: x\n\n";
  return u;
}

// A one-shot gate: wait() blocks until open() (with a deadline, reported as a failure).
class Gate final {
 public:
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Counts acknowledgements; wait_for(n) blocks until n arrived (deadline).
class Acks final {
 public:
  Transport::Done done(std::vector<Result<void>>* slot_owner = nullptr, std::size_t slot = 0) {
    return [this, slot_owner, slot](Result<void> r) {
      std::lock_guard lock(mutex_);
      if (slot_owner) (*slot_owner)[slot] = r;
      ++count_;
      if (!r) ++errors_;
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [&] { return count_ >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::size_t errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t count_ = 0;
  std::size_t errors_ = 0;
};

inline Result<void> publish_and_wait(Transport& t, Transport::NewUpdatePtr u) {
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  t.publish(std::move(u), [promise](Result<void> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "no acknowledgement";
    return Error{Errc::internal, "timeout"};
  }
  return future.get();
}

class LmdbTransportFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    options_.path = dir_->sub("store");
    options_.map_size = 8 << 20;
  }
  void TearDown() override {
    transport_.reset();
    dir_.reset();
  }
  LmdbTransport& open() {
    transport_.reset();
    transport_ = std::make_unique<LmdbTransport>(options_);
    return *transport_;
  }

  std::unique_ptr<TempDir> dir_;
  LmdbOptions options_;
  std::unique_ptr<LmdbTransport> transport_;
};

}  // namespace mercure::test
