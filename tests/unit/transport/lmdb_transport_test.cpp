#include "transport/lmdb_transport.hpp"

#include "lmdb_transport_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mercure {
namespace {

using test::Acks;
using test::Gate;
using test::kDeadline;
using test::new_update;
using test::publish_and_wait;

class LmdbTransportTest : public test::LmdbTransportFixture {};

TEST_F(LmdbTransportTest, StoresBeforeBroadcastingAndAcknowledgesLast) {
  auto& t = open();
  ASSERT_NE(t.history(), nullptr);
  EXPECT_TRUE(t.writable());
  std::vector<std::string> events;  // written by the writer thread only
  std::mutex m;
  t.add_listener([&](const Transport::UpdatePtr& u) {
    auto found = t.history()->find(u->id);  // already committed when broadcast
    std::lock_guard lock(m);
    events.push_back("listener " + u->id + " seq " + std::to_string(u->seq) +
                     (found && *found == u->seq ? " stored" : " NOT STORED"));
  });
  auto u = new_update("a");
  const Update* raw = u.get();
  auto r = publish_and_wait(t, u);
  ASSERT_TRUE(r.has_value()) << r.error().reason;
  std::lock_guard lock(m);
  EXPECT_EQ(events, (std::vector<std::string>{"listener a seq 1 stored"}));
  EXPECT_EQ(raw->seq, 1U);
  EXPECT_EQ(t.stored_events(), 1U);
}

TEST_F(LmdbTransportTest, EveryListenerGetsTheSameSharedUpdate) {
  auto& t = open();
  std::vector<const Update*> a, b;
  t.add_listener([&](const Transport::UpdatePtr& u) { a.push_back(u.get()); });
  t.add_listener([&](const Transport::UpdatePtr& u) { b.push_back(u.get()); });
  auto u = new_update("x");
  const Update* raw = u.get();
  ASSERT_TRUE(publish_and_wait(t, u).has_value());
  t.close();  // joins the writer: its writes are visible here
  EXPECT_EQ(a, (std::vector<const Update*>{raw}));
  EXPECT_EQ(b, (std::vector<const Update*>{raw}));
}

TEST_F(LmdbTransportTest, DuplicateIdIs409AndNotBroadcast) {
  auto& t = open();
  std::atomic<int> broadcasts{0};
  t.add_listener([&](const Transport::UpdatePtr&) { broadcasts.fetch_add(1); });
  ASSERT_TRUE(publish_and_wait(t, new_update("dup")).has_value());
  auto r = publish_and_wait(t, new_update("dup"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().reason, "an event with id \"dup\" is already stored");
  EXPECT_TRUE(t.writable()) << "a rejected update is not a store failure";
  t.close();
  EXPECT_EQ(broadcasts.load(), 1);
}

TEST_F(LmdbTransportTest, UpdatesQueuedDuringACommitShareTheNextOne) {
  auto& t = open();
  Gate first_broadcast, release;
  std::vector<std::uint64_t> seqs;
  t.add_listener([&](const Transport::UpdatePtr& u) {
    seqs.push_back(u->seq);
    if (u->seq == 1) {
      first_broadcast.open();
      EXPECT_TRUE(release.wait());  // holds the writer: the next updates pile up
    }
  });
  Acks acks;
  t.publish(new_update("u0"), acks.done());
  ASSERT_TRUE(first_broadcast.wait());
  for (int i = 1; i <= 10; ++i) t.publish(new_update("u" + std::to_string(i)), acks.done());
  release.open();
  ASSERT_TRUE(acks.wait_for(11));
  EXPECT_EQ(acks.errors(), 0U);
  t.close();
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  const auto stats = t.stats();
  EXPECT_EQ(stats.commits, 2U);
  EXPECT_EQ(stats.updates, 11U);
  EXPECT_EQ(stats.max_batch_seen, 10U);
}

TEST_F(LmdbTransportTest, MaxBatchBoundsATransaction) {
  options_.max_batch = 3;
  auto& t = open();
  Gate first_broadcast, release;
  t.add_listener([&](const Transport::UpdatePtr& u) {
    if (u->seq == 1) {
      first_broadcast.open();
      EXPECT_TRUE(release.wait());
    }
  });
  Acks acks;
  t.publish(new_update("first"), acks.done());
  ASSERT_TRUE(first_broadcast.wait());
  for (int i = 0; i < 10; ++i) t.publish(new_update("m" + std::to_string(i)), acks.done());
  release.open();
  ASSERT_TRUE(acks.wait_for(11));
  t.close();
  EXPECT_EQ(t.stats().max_batch_seen, 3U);
  EXPECT_EQ(t.stats().commits, 1U + 4U);  // 1, then 3 + 3 + 3 + 1
}

TEST_F(LmdbTransportTest, ConcurrentPublishersAndReader) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  constexpr std::size_t kTotal = std::size_t{kThreads} * kPerThread;
  options_.size = 0;
  auto& t = open();
  std::vector<std::uint64_t> seqs;  // the writer thread's, read after close()
  seqs.reserve(kTotal);
  t.add_listener([&](const Transport::UpdatePtr& u) { seqs.push_back(u->seq); });

  std::vector<std::atomic<int>> done_calls(kTotal);
  std::mutex m;
  std::condition_variable all_done;
  std::size_t done_count = 0, done_errors = 0;

  std::atomic<bool> stop_reader{false};
  std::atomic<std::uint64_t> reader_seen{0};
  std::thread reader([&] {
    std::uint64_t cursor = 0;
    while (!stop_reader.load()) {
      auto r = t.history()->scan(cursor, 512, [&](const HistoryEvent& e) {
        EXPECT_EQ(e.seq, cursor + 1) << "a snapshot has no gap";
        cursor = e.seq;
        return true;
      });
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->last_seq, cursor);
    }
    reader_seen.store(cursor);
  });

  std::vector<std::thread> publishers;
  publishers.reserve(kThreads);
  for (int p = 0; p < kThreads; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::size_t slot = std::size_t(p) * kPerThread + std::size_t(i);
        t.publish(new_update("p" + std::to_string(p) + "-" + std::to_string(i)), [&, slot](Result<void> r) {
          done_calls[slot].fetch_add(1);
          std::lock_guard lock(m);
          ++done_count;
          if (!r) ++done_errors;
          all_done.notify_all();
        });
      }
    });
  }
  for (auto& th : publishers) th.join();
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(all_done.wait_for(lock, kDeadline, [&] { return done_count == kTotal; }));
    EXPECT_EQ(done_errors, 0U);
  }
  stop_reader.store(true);
  reader.join();
  t.close();

  for (std::size_t i = 0; i < kTotal; ++i) ASSERT_EQ(done_calls[i].load(), 1) << "slot " << i;
  ASSERT_EQ(seqs.size(), kTotal);
  for (std::size_t i = 0; i < kTotal; ++i) ASSERT_EQ(seqs[i], i + 1) << "listener order is seq order";
  const auto stats = t.stats();
  EXPECT_EQ(stats.updates, kTotal);
  EXPECT_GT(stats.max_batch_seen, 1U);
  EXPECT_LT(stats.commits, kTotal);
  EXPECT_EQ(t.stored_events(), kTotal);
  std::cout << "[          ] " << kTotal << " updates in " << stats.commits << " commits, largest batch "
            << stats.max_batch_seen << ", reader reached seq " << reader_seen.load() << "\n";
}

TEST_F(LmdbTransportTest, CloseDrainsTheQueue) {
  auto& t = open();
  Gate first_broadcast, release;
  std::atomic<int> broadcasts{0};
  t.add_listener([&](const Transport::UpdatePtr& u) {
    broadcasts.fetch_add(1);
    if (u->seq == 1) {
      first_broadcast.open();
      EXPECT_TRUE(release.wait());
    }
  });
  std::vector<Result<void>> results(101);
  Acks acks;
  t.publish(new_update("q0"), acks.done(&results, 0));
  ASSERT_TRUE(first_broadcast.wait());
  for (std::size_t i = 1; i <= 100; ++i) t.publish(new_update("q" + std::to_string(i)), acks.done(&results, i));

  std::thread closer([&] { t.close(); });
  // close() refuses new publishes at once, even while the writer is busy.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (t.writable() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_FALSE(t.writable());
  auto refused = publish_and_wait(t, new_update("late"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_EQ(refused.error().reason, "hub is shutting down");

  release.open();
  closer.join();  // returns once everything queued was committed and acknowledged
  EXPECT_EQ(acks.count(), 101U);
  for (const auto& r : results) EXPECT_TRUE(r.has_value());
  EXPECT_EQ(broadcasts.load(), 101);
  EXPECT_EQ(t.stored_events(), 101U);
  auto found = t.history()->find("late");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());
}

TEST_F(LmdbTransportTest, CloseIsIdempotentAndDestructorAcknowledgesPending) {
  auto& t = open();
  Acks acks;
  for (int i = 0; i < 50; ++i) t.publish(new_update("d" + std::to_string(i)), acks.done());
  transport_.reset();  // destructor: close, drain, join
  EXPECT_EQ(acks.count(), 50U);
  EXPECT_EQ(acks.errors(), 0U);

  auto& again = open();
  EXPECT_EQ(again.stored_events(), 50U);
  again.close();
  again.close();
  EXPECT_FALSE(again.writable());
  auto r = publish_and_wait(again, new_update("after"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(http_status(r.error().code), 503);
}

TEST_F(LmdbTransportTest, SeqContinuesAfterReopen) {
  {
    auto& t = open();
    ASSERT_TRUE(publish_and_wait(t, new_update("a")).has_value());
    ASSERT_TRUE(publish_and_wait(t, new_update("b")).has_value());
  }
  transport_.reset();
  auto& t = open();
  auto u = new_update("c");
  ASSERT_TRUE(publish_and_wait(t, u).has_value());
  EXPECT_EQ(u->seq, 3U);
  auto found = t.history()->find("a");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, std::optional<std::uint64_t>(1));
}

// What a shard's DispatchProgress counts on: the updates broadcast after opening are the seqs
// right after broadcast_from(), every one, in order.
TEST_F(LmdbTransportTest, BroadcastsEverySeqAfterBroadcastFromInOrder) {
  {
    auto& t = open();
    EXPECT_EQ(t.broadcast_from(), std::optional<std::uint64_t>(0));
    ASSERT_TRUE(publish_and_wait(t, new_update("a")).has_value());
    ASSERT_TRUE(publish_and_wait(t, new_update("b")).has_value());
  }
  transport_.reset();
  auto& t = open();
  const auto base = t.broadcast_from();
  ASSERT_EQ(base, std::optional<std::uint64_t>(2));
  std::vector<std::uint64_t> seqs;  // written by the writer thread only
  t.add_listener([&](const Transport::UpdatePtr& u) { seqs.push_back(u->seq); });
  Acks acks;
  for (int i = 0; i < 50; ++i) t.publish(new_update("n" + std::to_string(i)), acks.done());
  ASSERT_TRUE(acks.wait_for(50));
  t.close();  // joins the writer: its writes are visible here
  ASSERT_EQ(seqs.size(), 50U);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], *base + 1 + i);
}

TEST_F(LmdbTransportTest, WithoutSyncUpdatesSurviveACleanClose) {
  options_.sync = false;
  auto& t = open();
  Acks acks;
  for (int i = 0; i < 20; ++i) t.publish(new_update("n" + std::to_string(i)), acks.done());
  ASSERT_TRUE(acks.wait_for(20));
  transport_.reset();
  options_.sync = true;
  EXPECT_EQ(open().stored_events(), 20U);
}

// A write error (here EFBIG from RLIMIT_FSIZE, as ENOSPC or EIO would be) fails the whole
// batch with 503: nothing acknowledged, nothing broadcast, and the store works again after.
TEST_F(LmdbTransportTest, AFailedCommitIsRefusedWholeAndNotBroadcast) {
  auto& t = open();
  Gate first_broadcast, release;
  std::atomic<int> broadcasts{0};
  t.add_listener([&](const Transport::UpdatePtr& u) {
    broadcasts.fetch_add(1);
    if (u->seq == 1) {
      first_broadcast.open();
      EXPECT_TRUE(release.wait());  // "big" and "small" pile up: one batch
    }
  });
  Acks acks;
  std::vector<Result<void>> results(3);
  t.publish(new_update("before"), acks.done(&results, 0));
  ASSERT_TRUE(first_broadcast.wait());

  const auto data_size = std::filesystem::file_size(options_.path + "/data.mdb");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = old;
  limited.rlim_cur = data_size + 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  auto big = new_update("big");
  big->frame.assign(4 << 20, 'b');
  auto small = new_update("small");
  t.publish(big, acks.done(&results, 1));
  t.publish(small, acks.done(&results, 2));
  release.open();
  const bool acked = acks.wait_for(3);
  const bool writable_after_failure = t.writable();
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(acked);

  EXPECT_TRUE(results[0].has_value());
  for (std::size_t i : {1, 2}) {
    ASSERT_FALSE(results[i].has_value()) << i;
    EXPECT_EQ(results[i].error().code, Errc::unavailable);
    EXPECT_EQ(results[i].error().reason.rfind("history store write failed: ", 0), 0U) << results[i].error().reason;
  }
  EXPECT_FALSE(writable_after_failure);
  EXPECT_EQ(big->seq, 0U);
  EXPECT_EQ(small->seq, 0U);
  auto found = t.history()->find("small");
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->has_value());

  auto after = new_update("after");
  ASSERT_TRUE(publish_and_wait(t, after).has_value());
  EXPECT_EQ(after->seq, 2U) << "the failed batch used no seq";
  EXPECT_TRUE(t.writable());
  t.close();
  EXPECT_EQ(broadcasts.load(), 2);
  EXPECT_EQ(t.stored_events(), 2U);
}

TEST_F(LmdbTransportTest, StoreErrorsAreThrownByTheConstructor) {
  auto& t = open();
  (void)t;
  EXPECT_THROW(LmdbTransport second(options_), StoreError);
}

// Group commit against one fsync per update (run with --gtest_also_run_disabled_tests).
TEST_F(LmdbTransportTest, DISABLED_ThroughputOfBatchOneAgainstGroupCommit) {
  for (std::size_t max_batch : {std::size_t{1}, std::size_t{4096}}) {
    options_.max_batch = max_batch;
    options_.path = dir_->sub("bench-" + std::to_string(max_batch));
    auto& t = open();
    constexpr std::size_t kUpdates = 2000;
    Acks acks;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kUpdates; ++i) t.publish(new_update("b" + std::to_string(i)), acks.done());
    ASSERT_TRUE(acks.wait_for(kUpdates));
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::cout << "[          ] max_batch=" << max_batch << ": " << kUpdates << " durable updates in " << elapsed.count()
              << " s = " << static_cast<double>(kUpdates) / elapsed.count() << " updates/s, " << t.stats().commits
              << " commits\n";
    transport_.reset();
  }
  // Closed loop, like HTTP publishers: 64 threads, each waiting for its acknowledgement.
  for (std::size_t max_batch : {std::size_t{1}, std::size_t{4096}}) {
    options_.max_batch = max_batch;
    options_.path = dir_->sub("closed-" + std::to_string(max_batch));
    auto& t = open();
    constexpr int kPublishers = 64, kEach = 50;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    threads.reserve(kPublishers);
    for (int p = 0; p < kPublishers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < kEach; ++i) {
          EXPECT_TRUE(publish_and_wait(t, new_update("c" + std::to_string(p) + "-" + std::to_string(i))).has_value());
        }
      });
    }
    for (auto& th : threads) th.join();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::cout << "[          ] closed loop, " << kPublishers << " publishers, max_batch=" << max_batch << ": "
              << static_cast<double>(kPublishers * kEach) / elapsed.count() << " updates/s, " << t.stats().commits
              << " commits, largest batch " << t.stats().max_batch_seen << "\n";
    transport_.reset();
  }
}

}  // namespace
}  // namespace mercure
