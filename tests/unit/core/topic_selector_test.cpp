#include "core/topic_selector.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace mercure {
namespace {

TEST(TopicSelector, StarMatchesEveryTopic) {
  const auto s = TopicSelector::compile("*");
  EXPECT_TRUE(s->is_any());
  EXPECT_FALSE(s->is_exact());
  EXPECT_EQ(s->text(), "*");
  EXPECT_TRUE(s->matches("https://example.com/books/1"));
  EXPECT_TRUE(s->matches(""));
  EXPECT_TRUE(s->matches("*"));
}

TEST(TopicSelector, PlainStringMatchesOnlyTheIdenticalTopic) {
  const auto s = TopicSelector::compile("https://example.com/books/1");
  EXPECT_TRUE(s->is_exact());
  EXPECT_FALSE(s->is_any());
  EXPECT_TRUE(s->matches("https://example.com/books/1"));
  EXPECT_FALSE(s->matches("https://example.com/books/12"));
  EXPECT_FALSE(s->matches("https://example.com/books/"));
  EXPECT_FALSE(s->matches("HTTPS://EXAMPLE.COM/books/1"));

  const auto empty = TopicSelector::compile("");
  EXPECT_TRUE(empty->is_exact());
  EXPECT_TRUE(empty->matches(""));
  EXPECT_FALSE(empty->matches("x"));

  const auto star_inside = TopicSelector::compile("https://example.com/*");  // "*" only alone
  EXPECT_TRUE(star_inside->is_exact());
  EXPECT_FALSE(star_inside->matches("https://example.com/books"));
}

TEST(TopicSelector, TemplateMatchesItsExpansionsAndItsOwnText) {
  const auto s = TopicSelector::compile("https://example.com/books/{id}");
  EXPECT_FALSE(s->is_exact());
  EXPECT_FALSE(s->is_any());
  EXPECT_EQ(s->text(), "https://example.com/books/{id}");
  EXPECT_TRUE(s->matches("https://example.com/books/12"));
  EXPECT_TRUE(s->matches("https://example.com/books/{id}"));  // byte-identical
  EXPECT_FALSE(s->matches("https://example.com/books/1/reviews"));
  EXPECT_FALSE(s->matches("https://example.com/authors/1"));

  const auto query = TopicSelector::compile("https://example.com/search{?q,page}");
  EXPECT_TRUE(query->matches("https://example.com/search?q=cats&page=2"));
  EXPECT_FALSE(query->matches("https://example.com/search?page=2&q=cats"));
}

TEST(TopicSelector, UnparsableTemplateIsAPlainString) {
  for (const char* text : {"https://example.com/{broken", "https://example.com/{a b}", "https://example.com/{=x}",
                           "https://example.com/{x:0}", "https://example.com/a b/{x}"}) {
    const auto s = TopicSelector::compile(text);
    EXPECT_TRUE(s->is_exact()) << text;
    EXPECT_TRUE(s->matches(text)) << text;
    EXPECT_FALSE(s->matches("https://example.com/x")) << text;
  }
}

TEST(TopicSelector, MatchesConcurrentlyFromManyThreads) {
  const auto s = TopicSelector::compile("https://example.com/{+path}/books/{id}{?page}");
  const auto other = TopicSelector::compile("/{a}{b}{c}{d}!");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string id = std::to_string(t * 10000 + i);
        if (!s->matches("https://example.com/a/b/books/" + id + "?page=2")) ++wrong;
        if (s->matches("https://example.com/a/b/books/" + id + "/x")) ++wrong;
        if (other->matches("/" + id)) ++wrong;
        if (!other->matches("/" + id + "!")) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace mercure
