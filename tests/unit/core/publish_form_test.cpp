#include "core/publish_form.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mercure {
namespace {

PublishForm parse_ok(std::string_view body) {
  auto r = parse_publish_form(body);
  EXPECT_TRUE(r.has_value()) << body << ": " << (r ? "" : r.error().reason);
  return r ? *r : PublishForm{};
}

std::string parse_error(std::string_view body) {
  auto r = parse_publish_form(body);
  EXPECT_FALSE(r.has_value()) << body;
  if (r) return {};
  EXPECT_EQ(r.error().code, Errc::bad_request);
  return r.error().reason;
}

TEST(PublishForm, ParsesEveryField) {
  const auto f = parse_ok(
      "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=urn%3Abook&data=%7B%22a%22%3A1%7D"
      "&id=urn%3Auuid%3Ax&type=update&retry=1500&private=on");
  EXPECT_EQ(f.topics, (std::vector<std::string>{"https://example.com/books/1", "urn:book"}));
  EXPECT_EQ(f.data, "{\"a\":1}");
  EXPECT_EQ(f.id, "urn:uuid:x");
  EXPECT_EQ(f.type, "update");
  EXPECT_EQ(f.retry, "1500");
  EXPECT_TRUE(f.is_private);
}

TEST(PublishForm, TopicOnlyLeavesEverythingElseUnset) {
  const auto f = parse_ok("topic=a");
  EXPECT_EQ(f.topics, std::vector<std::string>{"a"});
  EXPECT_FALSE(f.data);
  EXPECT_FALSE(f.id);
  EXPECT_FALSE(f.type);
  EXPECT_FALSE(f.retry);
  EXPECT_FALSE(f.is_private);
}

TEST(PublishForm, MissingTopicIsRejected) {
  EXPECT_EQ(parse_error(""), "missing topic");
  EXPECT_EQ(parse_error("data=x&id=1"), "missing topic");
  EXPECT_EQ(parse_error("topics=a&Topic=b"), "missing topic");
}

TEST(PublishForm, TopicsKeepOrderAndDuplicates) {
  EXPECT_EQ(parse_ok("topic=b&data=x&topic=a&topic=b").topics, (std::vector<std::string>{"b", "a", "b"}));
}

TEST(PublishForm, EmptyTopicIsKeptLikeTheReference) {
  EXPECT_EQ(parse_ok("topic=").topics, std::vector<std::string>{""});
}

TEST(PublishForm, ReservedTopicIsLeftToTheHub) {
  EXPECT_EQ(parse_ok("topic=%2F.well-known%2Fmercure%2Fsubscriptions").topics,
            std::vector<std::string>{"/.well-known/mercure/subscriptions"});
}

TEST(PublishForm, FirstOccurrenceOfSingleValuedFieldsWins) {
  const auto f = parse_ok("topic=t&data=1&data=2&id=a&id=b&type=x&type=y&retry=1&retry=2");
  EXPECT_EQ(f.data, "1");
  EXPECT_EQ(f.id, "a");
  EXPECT_EQ(f.type, "x");
  EXPECT_EQ(f.retry, "1");
}

TEST(PublishForm, OnlyTheFirstOccurrenceIsValidated) {
  // As with Go's PostForm.Get, later values are ignored entirely.
  const auto f = parse_ok("topic=t&id=ok&id=%23bad&retry=5&retry=x");
  EXPECT_EQ(f.id, "ok");
  EXPECT_EQ(f.retry, "5");
}

TEST(PublishForm, EmptyDataIsKept) {
  EXPECT_EQ(parse_ok("topic=t&data=").data, "");
  EXPECT_EQ(parse_ok("topic=t&data").data, "");
}

TEST(PublishForm, DataMayContainAnyBytes) {
  EXPECT_EQ(parse_ok("topic=t&data=a%0D%0Ab%00%FF+%2B%26").data, std::string("a\r\nb\0\xFF +&", 9));
}

TEST(PublishForm, EmptyIdTypeOrRetryCountAsAbsent) {
  const auto f = parse_ok("topic=t&id=&type=&retry=");
  EXPECT_FALSE(f.id);
  EXPECT_FALSE(f.type);
  EXPECT_FALSE(f.retry);
  // ...and, being the first occurrence, they hide later ones.
  EXPECT_FALSE(parse_ok("topic=t&id=&id=x").id);
}

TEST(PublishForm, IdStartingWithHashIsRejected) {
  EXPECT_EQ(parse_error("topic=t&id=%23frag"), "id must not start with \"#\"");
  EXPECT_EQ(parse_error("topic=t&id=%23"), "id must not start with \"#\"");
  EXPECT_EQ(parse_ok("topic=t&id=a%23b").id, "a#b");
}

TEST(PublishForm, TheReservedIdEarliestIsRejected) {
  EXPECT_EQ(parse_error("topic=t&id=earliest"), "id \"earliest\" is reserved for resuming");
  EXPECT_EQ(parse_ok("topic=t&id=earliest2").id, "earliest2");
}

TEST(PublishForm, IdWithLineBreakOrNulIsRejected) {
  for (const auto* id : {"a%0Db", "a%0Ab", "a%00b", "%0D%0Aevent%3A+x", "x%0A"}) {
    EXPECT_EQ(parse_error(std::string("topic=t&id=") + id), "id must not contain CR, LF or NUL") << id;
  }
}

TEST(PublishForm, TypeWithLineBreakOrNulIsRejected) {
  for (const auto* type : {"a%0Db", "a%0Ab", "a%00b", "%0Aid%3A+forged"}) {
    EXPECT_EQ(parse_error(std::string("topic=t&type=") + type), "type must not contain CR, LF or NUL") << type;
  }
  EXPECT_EQ(parse_ok("topic=t&type=with+space%09tab").type, "with space\ttab");
}

TEST(PublishForm, RetryAcceptsUnsigned64BitIntegers) {
  EXPECT_EQ(parse_ok("topic=t&retry=0").retry, "0");
  EXPECT_EQ(parse_ok("topic=t&retry=007").retry, "007");
  EXPECT_EQ(parse_ok("topic=t&retry=18446744073709551615").retry, "18446744073709551615");
  // Found by fuzz/form_parse against the header, which promised at most 20 digits: leading zeros
  // are accepted (as Go's ParseUint does), so a valid retry has any length.
  EXPECT_EQ(parse_ok("topic=t&retry=000000008419392183978529662").retry, "000000008419392183978529662");
  EXPECT_EQ(parse_ok("topic=t&retry=0000000000000000000018446744073709551615").retry,
            "0000000000000000000018446744073709551615");
  EXPECT_EQ(parse_error("topic=t&retry=0000000000000000000018446744073709551616"),
            "retry must be an unsigned 64-bit integer");
}

TEST(PublishForm, RetryThatIsNotAnUnsigned64BitIntegerIsRejected) {
  for (const auto* retry : {"-1", "%2B1", "+1", "1.5", "1e3", "0x10", "abc", "12a", "%201", "1%20",
                            "18446744073709551616", "99999999999999999999999"}) {
    EXPECT_EQ(parse_error(std::string("topic=t&retry=") + retry), "retry must be an unsigned 64-bit integer") << retry;
  }
}

TEST(PublishForm, PrivatePresentWithAnyValueIsPrivate) {
  for (const auto* body : {"topic=t&private", "topic=t&private=", "topic=t&private=on", "topic=t&private=true",
                           "topic=t&private=false", "topic=t&private=0", "private=1&topic=t&private=0"}) {
    EXPECT_TRUE(parse_ok(body).is_private) << body;
  }
  EXPECT_FALSE(parse_ok("topic=t&Private=1&privat=1").is_private);
}

TEST(PublishForm, UnknownFieldsAreIgnored) {
  const auto f = parse_ok("topic=t&foo=bar&_method=PUT&data=d&id%5B%5D=x");
  EXPECT_EQ(f.topics, std::vector<std::string>{"t"});
  EXPECT_EQ(f.data, "d");
  EXPECT_FALSE(f.id);
}

TEST(PublishForm, MalformedEscapeAnywhereIsRejectedWithTheField) {
  EXPECT_EQ(parse_error("topic=t&data=%E"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("topic=t&data=ok&data=%zz"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("topic=t&unknown=%"), "malformed percent-encoding in form field \"unknown\"");
  EXPECT_EQ(parse_error("topic=%"), "malformed percent-encoding in form field \"topic\"");
}

}  // namespace
}  // namespace mercure
