#include "core/selector_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace mercure {
namespace {

TEST(SelectorCache, ReturnsTheSameCompiledSelectorForTheSameText) {
  SelectorCache cache(10);
  const auto a = cache.get("/books/{id}");
  const auto b = cache.get(std::string("/books/") + "{id}");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_TRUE(a->matches("/books/1"));
  EXPECT_NE(cache.get("/books/{id}/").get(), a.get());
  EXPECT_EQ(cache.size(), 2U);
}

TEST(SelectorCache, CompilesEveryKindOfSelector) {
  SelectorCache cache;
  EXPECT_EQ(cache.capacity(), SelectorCache::kDefaultCapacity);
  EXPECT_TRUE(cache.get("*")->is_any());
  EXPECT_TRUE(cache.get("/books/1")->is_exact());
  EXPECT_TRUE(cache.get("/books/{broken")->is_exact());
  EXPECT_FALSE(cache.get("/books/{id}")->is_exact());
}

TEST(SelectorCache, IsBoundedAndEvictsTheLeastRecentlyUsed) {
  SelectorCache cache(2);
  const auto a = cache.get("/a");
  const auto b = cache.get("/b");
  EXPECT_EQ(cache.get("/a").get(), a.get());  // "/a" is now the most recent
  (void)cache.get("/c");                      // evicts "/b"
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_EQ(cache.get("/a").get(), a.get());
  EXPECT_NE(cache.get("/b").get(), b.get());  // compiled again (evicting "/c")
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_TRUE(b->matches("/b"));  // an evicted selector stays valid for its holders
}

TEST(SelectorCache, ZeroCapacityKeepsOneEntry) {
  SelectorCache cache(0);
  const auto a = cache.get("/a");
  EXPECT_EQ(cache.get("/a").get(), a.get());
  (void)cache.get("/b");
  EXPECT_EQ(cache.size(), 1U);
}

TEST(SelectorCache, ServesManyThreadsAtOnce) {
  SelectorCache cache(64);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const int n = (i * 7 + t) % 100;  // more texts than entries: hits, misses and evictions
        const auto s = cache.get("/t/" + std::to_string(n) + "/{id}");
        if (s == nullptr || s->text() != "/t/" + std::to_string(n) + "/{id}" ||
            !s->matches("/t/" + std::to_string(n) + "/x")) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 64U);
}

}  // namespace
}  // namespace mercure
