#include "core/selector_cache.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

TEST(TopicSelector, KindsOfSelectors) {
  auto any = TopicSelector::compile("*");
  EXPECT_TRUE(any->is_any());
  EXPECT_TRUE(any->matches("anything at all"));
  auto exact = TopicSelector::compile("https://example.com/books/1");
  EXPECT_TRUE(exact->is_exact());
  EXPECT_TRUE(exact->matches("https://example.com/books/1"));
  EXPECT_FALSE(exact->matches("https://example.com/books/12"));
  auto templ = TopicSelector::compile("https://example.com/books/{id}");
  EXPECT_FALSE(templ->is_exact());
  EXPECT_TRUE(templ->matches("https://example.com/books/12"));
}

TEST(TopicSelector, UnparsableTemplateIsAPlainString) {
  auto s = TopicSelector::compile("https://example.com/{broken");
  EXPECT_TRUE(s->is_exact());
  EXPECT_TRUE(s->matches("https://example.com/{broken"));
  EXPECT_FALSE(s->matches("https://example.com/x"));
}

TEST(TopicSelector, TemplateAlsoMatchesItsOwnText) {
  auto s = TopicSelector::compile("https://example.com/{id}");
  EXPECT_TRUE(s->matches("https://example.com/{id}"));
}

TEST(SelectorCache, ReturnsTheSameCompiledSelector) {
  SelectorCache cache(10);
  auto a = cache.get("/books/{id}");
  auto b = cache.get("/books/{id}");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(cache.size(), 1U);
}

TEST(SelectorCache, IsBoundedAndEvictsTheLeastRecentlyUsed) {
  SelectorCache cache(2);
  auto a = cache.get("/a");
  (void)cache.get("/b");
  (void)cache.get("/a");  // /a is now the most recent
  (void)cache.get("/c");  // evicts /b
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_EQ(cache.get("/a").get(), a.get());
  EXPECT_EQ(cache.size(), 2U);
}

}  // namespace
}  // namespace mercure
