#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mercure {
namespace {

constexpr std::string_view kUrn = "urn:uuid:";

bool is_canonical_lowercase(std::string_view u) {
  if (u.size() != 36) return false;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = u[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::uint64_t hex_to_u64(std::string_view hex) {
  return std::stoull(std::string(hex), nullptr, 16);
}

std::uint64_t timestamp_of(std::string_view u) {
  return hex_to_u64(std::string(u.substr(0, 8)) + std::string(u.substr(9, 4)));
}

std::string_view strip_urn(std::string_view id) {
  EXPECT_TRUE(id.starts_with(kUrn)) << id;
  id.remove_prefix(kUrn.size());
  return id;
}

TEST(Uuid, MakesCanonicalLowercaseForm) {
  const std::array<std::uint8_t, 10> random{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD};
  const std::string u = make_uuid_v7(0x0123456789AB, random);
  EXPECT_EQ(u, "01234567-89ab-7bcd-af01-23456789abcd");
  EXPECT_TRUE(is_canonical_lowercase(u));
}

TEST(Uuid, MatchesTheRfcExampleLayout) {
  // RFC 9562 appendix A.6: unix_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
  const std::array<std::uint8_t, 10> random{0x0C, 0xC3, 0x18, 0xC4, 0xDC, 0x0C, 0x0C, 0x07, 0x39, 0x8F};
  EXPECT_EQ(make_uuid_v7(0x017F22E279B0, random), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
}

TEST(Uuid, SetsVersionAndVariantWhateverTheRandomBits) {
  for (const std::uint8_t fill : {std::uint8_t{0x00}, std::uint8_t{0xFF}, std::uint8_t{0x5A}}) {
    std::array<std::uint8_t, 10> random;
    random.fill(fill);
    const std::string u = make_uuid_v7(1, random);
    EXPECT_EQ(u[14], '7') << u;
    EXPECT_TRUE(std::string_view("89ab").find(u[19]) != std::string_view::npos) << u;
  }
}

TEST(Uuid, EncodesTheTimestampBigEndianIn48Bits) {
  const std::array<std::uint8_t, 10> zero{};
  EXPECT_EQ(make_uuid_v7(0, zero), "00000000-0000-7000-8000-000000000000");
  EXPECT_EQ(make_uuid_v7(1, zero), "00000000-0001-7000-8000-000000000000");
  EXPECT_EQ(make_uuid_v7(0xFFFFFFFFFFFF, zero), "ffffffff-ffff-7000-8000-000000000000");
  EXPECT_EQ(timestamp_of(make_uuid_v7(1700000000123, zero)), 1700000000123u);
  // Bits above 48 are dropped.
  EXPECT_EQ(make_uuid_v7(0x1000000000001, zero), "00000000-0001-7000-8000-000000000000");
}

TEST(Uuid, GeneratorMakesUrnWithInjectedTimestamp) {
  UuidGenerator gen([] { return std::uint64_t{1700000000123}; });
  const std::string id = gen.next();
  EXPECT_EQ(id.size(), kUrn.size() + 36);
  const auto u = strip_urn(id);
  EXPECT_TRUE(is_canonical_lowercase(u)) << id;
  EXPECT_EQ(u[14], '7');
  EXPECT_TRUE(std::string_view("89ab").find(u[19]) != std::string_view::npos) << id;
  EXPECT_EQ(timestamp_of(u), 1700000000123u);
}

TEST(Uuid, DefaultGeneratorUsesTheSystemClock) {
  UuidGenerator gen;
  const std::uint64_t before = system_unix_ms();
  const auto ts = timestamp_of(strip_urn(gen.next()));
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, system_unix_ms());
}

TEST(Uuid, StrictlyIncreasingWithinOneMillisecond) {
  UuidGenerator gen([] { return std::uint64_t{1700000000000}; });
  std::string previous = gen.next();
  for (int i = 0; i < 2000; ++i) {  // fewer than the 2048 guaranteed per millisecond
    std::string id = gen.next();
    ASSERT_LT(previous, id);
    ASSERT_EQ(timestamp_of(strip_urn(id)), 1700000000000u) << id;
    previous = std::move(id);
  }
}

TEST(Uuid, StrictlyIncreasingAcross100kIdsOnAFrozenClock) {
  // The counter overflows many times: the timestamp carries ahead, the order holds.
  UuidGenerator gen([] { return std::uint64_t{1700000000000}; });
  std::string previous = gen.next();
  for (int i = 0; i < 100000; ++i) {
    std::string id = gen.next();
    ASSERT_LT(previous, id) << i;
    previous = std::move(id);
  }
}

TEST(Uuid, StrictlyIncreasingAcross100kIdsOnTheSystemClock) {
  UuidGenerator gen;
  std::string previous = gen.next();
  for (int i = 0; i < 100000; ++i) {
    std::string id = gen.next();
    ASSERT_LT(previous, id) << i;
    previous = std::move(id);
  }
}

TEST(Uuid, NewMillisecondReseedsTheCounter) {
  std::uint64_t now = 1000;
  UuidGenerator gen([&now] { return now; });
  const std::string a = gen.next();
  now = 1001;
  const std::string b = gen.next();
  EXPECT_LT(a, b);
  EXPECT_EQ(timestamp_of(strip_urn(a)), 1000u);
  EXPECT_EQ(timestamp_of(strip_urn(b)), 1001u);
  // Seeded counters keep rand_a's top bit clear.
  EXPECT_LT(hex_to_u64(strip_urn(b).substr(15, 3)), 0x800u);
}

TEST(Uuid, StaysIncreasingWhenTheClockGoesBackwards) {
  std::uint64_t now = 5000;
  UuidGenerator gen([&now] { return now; });
  const std::string a = gen.next();
  now = 4000;
  const std::string b = gen.next();
  const std::string c = gen.next();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(timestamp_of(strip_urn(b)), 5000u);
}

TEST(Uuid, RandomPartDiffersBetweenGenerators) {
  UuidGenerator g1([] { return std::uint64_t{42}; });
  UuidGenerator g2([] { return std::uint64_t{42}; });
  // rand_b (the last 62 bits) is fresh per id.
  EXPECT_NE(strip_urn(g1.next()).substr(19), strip_urn(g2.next()).substr(19));
}

TEST(Uuid, StrictlyIncreasingAndUniqueAcrossThreads) {
  UuidGenerator gen([] { return std::uint64_t{1700000000000}; });
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kPerThread = 10000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&gen, &out = ids[t]] {
      out.reserve(kPerThread);
      for (std::size_t i = 0; i < kPerThread; ++i) out.push_back(gen.next());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& per_thread : ids) {
    for (std::size_t i = 1; i < per_thread.size(); ++i) ASSERT_LT(per_thread[i - 1], per_thread[i]);
    all.insert(per_thread.begin(), per_thread.end());
  }
  EXPECT_EQ(all.size(), kThreads * kPerThread);
  // A single shared state: the (timestamp, counter) prefixes are unique too.
  std::set<std::string> prefixes;
  for (const auto& id : all) prefixes.insert(id.substr(0, kUrn.size() + 18));
  EXPECT_EQ(prefixes.size(), all.size());
}

}  // namespace
}  // namespace mercure
