#include "core/topic_limits.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mercure {
namespace {

using Strings = std::vector<std::string>;

TEST(TopicLimits, ValidTopicTextIsUtf8WithoutControlCharacters) {
  EXPECT_TRUE(is_valid_topic_text(""));
  EXPECT_TRUE(is_valid_topic_text("https://example.com/books/{id}"));
  EXPECT_TRUE(is_valid_topic_text("https://example.com/caf\xC3\xA9"));  // U+00E9
  EXPECT_TRUE(is_valid_topic_text("\xC2\xA0"));                         // U+00A0, first after C1
  EXPECT_TRUE(is_valid_topic_text("\xE6\x97\xA5\xE6\x9C\xAC"));         // CJK
  EXPECT_TRUE(is_valid_topic_text("\xF0\x9F\x98\x80"));                 // U+1F600
  EXPECT_TRUE(is_valid_topic_text("\xF4\x8F\xBF\xBF"));                 // U+10FFFF
  EXPECT_TRUE(is_valid_topic_text("\xEF\xBF\xBD"));                     // U+FFFD
  EXPECT_TRUE(is_valid_topic_text("\xED\x9F\xBF"));                     // U+D7FF
}

TEST(TopicLimits, ControlCharactersAreRefused) {
  for (int c = 0; c < 0x20; ++c) {
    EXPECT_FALSE(is_valid_topic_text(std::string("a") + static_cast<char>(c) + "b")) << c;
  }
  EXPECT_FALSE(is_valid_topic_text("a\x7F"));
  EXPECT_FALSE(is_valid_topic_text("a\xC2\x80"));  // U+0080
  EXPECT_FALSE(is_valid_topic_text("a\xC2\x85"));  // U+0085 NEL
  EXPECT_FALSE(is_valid_topic_text("a\xC2\x9F"));  // U+009F
  EXPECT_FALSE(is_valid_topic_text(std::string("a\0b", 3)));
}

TEST(TopicLimits, EveryByteIsCheckedAtEveryPositionOfALongTopic) {
  // The ASCII fast path reads 8 bytes at a time: a bad byte anywhere (first word, last partial
  // word, after a multi-byte character) is found; good multi-byte characters are kept.
  const std::string base = "https://example.com/topics/0123456789";
  for (std::size_t pos = 0; pos <= base.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string text = base;
      text.insert(pos, 1, static_cast<char>(c));
      EXPECT_EQ(is_valid_topic_text(text), c >= 0x20 && c < 0x7F) << pos << " " << c;
    }
    std::string good = base;
    good.insert(pos, "\xE6\x97\xA5\xC3\xA9");
    EXPECT_TRUE(is_valid_topic_text(good)) << pos;
    std::string c1 = base;
    c1.insert(pos, "\xC3\xA9\xC2\x85");
    EXPECT_FALSE(is_valid_topic_text(c1)) << pos;
  }
}

TEST(TopicLimits, InvalidUtf8IsRefused) {
  EXPECT_FALSE(is_valid_topic_text("\xFF"));
  EXPECT_FALSE(is_valid_topic_text("\x80"));              // a continuation byte first
  EXPECT_FALSE(is_valid_topic_text("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_topic_text("\xE6\x97"));          // truncated
  EXPECT_FALSE(is_valid_topic_text("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_topic_text("\xC1\xBF"));          // overlong
  EXPECT_FALSE(is_valid_topic_text("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_topic_text("\xF0\x80\x80\xAF"));  // overlong
  EXPECT_FALSE(is_valid_topic_text("\xED\xA0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(is_valid_topic_text("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(is_valid_topic_text("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_topic_text("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_topic_text("\xC3\x28"));  // bad continuation
}

TEST(TopicLimits, PublishTopicsAreCountedAndMeasured) {
  const TopicLimits limits{.max_topics = 2, .max_selectors = 5, .max_topic_length = 8};
  EXPECT_TRUE(check_publish_topics({"a", "12345678"}, limits));
  auto many = check_publish_topics({"a", "b", "c"}, limits);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, Errc::payload_too_large);
  EXPECT_EQ(many.error().reason, "too many topics: 3 (at most 2 per update)");
  auto long_one = check_publish_topics({"a", "123456789"}, limits);
  ASSERT_FALSE(long_one);
  EXPECT_EQ(long_one.error().code, Errc::payload_too_large);
  EXPECT_EQ(long_one.error().reason, "topic #2 is too long: 9 bytes (at most 8)");
  auto bad = check_publish_topics({"a\n"}, limits);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_EQ(bad.error().reason, "topic #1 is not valid UTF-8 or contains a control character");
}

TEST(TopicLimits, SubscribeSelectorsAreCountedAndMeasured) {
  const TopicLimits limits{.max_topics = 5, .max_selectors = 2, .max_topic_length = 4};
  EXPECT_TRUE(check_subscribe_selectors({"*", "{id}"}, limits));
  auto many = check_subscribe_selectors({"a", "b", "c"}, limits);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, Errc::bad_request);
  EXPECT_EQ(many.error().reason, "too many topic selectors: 3 (at most 2 per subscription)");
  auto long_one = check_subscribe_selectors({"abcde"}, limits);
  ASSERT_FALSE(long_one);
  EXPECT_EQ(long_one.error().code, Errc::bad_request);
  EXPECT_EQ(long_one.error().reason, "topic selector #1 is too long: 5 bytes (at most 4)");
  auto bad = check_subscribe_selectors({"*", "\xFF"}, limits);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "topic selector #2 is not valid UTF-8 or contains a control character");
}

TEST(TopicLimits, ZeroMeansNoLimit) {
  const TopicLimits none{.max_topics = 0, .max_selectors = 0, .max_topic_length = 0};
  const Strings many(5000, std::string(100'000, 'x'));
  EXPECT_TRUE(check_publish_topics(many, none));
  EXPECT_TRUE(check_subscribe_selectors(many, none));
  EXPECT_FALSE(check_publish_topics({"\x01"}, none)) << "the text is always checked";
}

}  // namespace
}  // namespace mercure
