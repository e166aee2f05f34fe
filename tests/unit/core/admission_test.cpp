#include "core/admission.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace mercure {
namespace {

using Verdict = ConnectionLimits::Verdict;

AddressKey key(std::uint8_t last) {
  AddressKey k;
  k.bytes[10] = 0xff;
  k.bytes[11] = 0xff;
  k.bytes[15] = last;
  return k;
}

TEST(Admission, TotalLimitRefusesBeyondItAndFreesOnRelease) {
  ConnectionLimits limits(2, 0);
  auto a = limits.admit(key(1));
  auto b = limits.admit(key(2));
  EXPECT_EQ(a.first, Verdict::admitted);
  EXPECT_EQ(b.first, Verdict::admitted);
  EXPECT_EQ(limits.open(), 2U);
  EXPECT_EQ(limits.admit(key(3)).first, Verdict::hub_full);
  EXPECT_EQ(limits.open(), 2U) << "a refusal counts nothing";
  { ConnectionTicket gone = std::move(a.second); }
  EXPECT_EQ(limits.open(), 1U);
  EXPECT_EQ(limits.admit(key(3)).first, Verdict::admitted);  // its ticket is dropped at once
  EXPECT_EQ(limits.open(), 1U);
}

TEST(Admission, PerAddressLimitCountsEachAddressSeparately) {
  ConnectionLimits limits(0, 2);
  std::vector<ConnectionTicket> held;
  for (int i = 0; i < 2; ++i) {
    auto [verdict, ticket] = limits.admit(key(1));
    EXPECT_EQ(verdict, Verdict::admitted);
    held.push_back(std::move(ticket));
  }
  EXPECT_EQ(limits.admit(key(1)).first, Verdict::address_full);
  EXPECT_EQ(limits.open(), 2U) << "a refusal by address gives its total slot back";
  auto other = limits.admit(key(2));
  EXPECT_EQ(other.first, Verdict::admitted);
  held.pop_back();
  EXPECT_EQ(limits.admit(key(1)).first, Verdict::admitted);
}

TEST(Admission, MovedTicketsReleaseOnce) {
  ConnectionLimits limits(1, 1);
  auto [verdict, ticket] = limits.admit(key(1));
  ASSERT_EQ(verdict, Verdict::admitted);
  ConnectionTicket moved = std::move(ticket);
  ConnectionTicket assigned;
  assigned = std::move(moved);
  EXPECT_EQ(limits.open(), 1U);
  EXPECT_EQ(limits.admit(key(1)).first, Verdict::hub_full);
  assigned = ConnectionTicket{};
  EXPECT_EQ(limits.open(), 0U);
  EXPECT_EQ(limits.admit(key(1)).first, Verdict::admitted);
}

TEST(Admission, NoLimitsAdmitsEverythingAndStillCounts) {
  ConnectionLimits limits(0, 0);
  std::vector<ConnectionTicket> held;
  for (int i = 0; i < 1000; ++i) {
    auto [verdict, ticket] = limits.admit(key(7));
    ASSERT_EQ(verdict, Verdict::admitted);
    held.push_back(std::move(ticket));
  }
  EXPECT_EQ(limits.open(), 1000U);
  held.clear();
  EXPECT_EQ(limits.open(), 0U);
}

TEST(Admission, StreamsPerTokenAreCountedByTokenText) {
  StreamLimits limits(2);
  auto a1 = limits.open("token-a");
  auto a2 = limits.open("token-a");
  EXPECT_TRUE(a1.first);
  EXPECT_TRUE(a2.first);
  EXPECT_FALSE(limits.open("token-a").first);
  EXPECT_EQ(limits.open_streams("token-a"), 2U);
  EXPECT_TRUE(limits.open("token-b").first);
  a1.second = StreamTicket{};
  EXPECT_EQ(limits.open_streams("token-a"), 1U);
  EXPECT_TRUE(limits.open("token-a").first);
}

TEST(Admission, ZeroStreamsPerTokenMeansNoLimit) {
  StreamLimits limits(0);
  std::vector<StreamTicket> held;
  for (int i = 0; i < 100; ++i) {
    auto [ok, ticket] = limits.open("same");
    ASSERT_TRUE(ok);
    held.push_back(std::move(ticket));
  }
}

// Several threads admit and release concurrently: the limit is never exceeded and every slot
// comes back (run under TSan by the sanitizer presets).
TEST(Admission, ConcurrentAdmissionsNeverExceedTheLimit) {
  constexpr std::size_t kLimit = 8;
  ConnectionLimits limits(kLimit, 4);
  std::atomic<std::size_t> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto [verdict, ticket] = limits.admit(key(static_cast<std::uint8_t>((t + i) % 3)));
        if (verdict != Verdict::admitted) continue;
        std::size_t now = limits.open();
        std::size_t seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(peak.load(), kLimit);
  EXPECT_EQ(limits.open(), 0U);
}

}  // namespace
}  // namespace mercure
