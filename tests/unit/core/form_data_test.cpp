#include "core/form_data.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace mercure {
namespace {

using Pairs = FormFields;

Pairs parse_ok(std::string_view input) {
  auto r = parse_urlencoded(input);
  EXPECT_TRUE(r.has_value()) << input << ": " << (r ? "" : r.error().reason);
  return r ? *r : Pairs{};
}

std::string parse_error(std::string_view input, std::string_view what = "form") {
  auto r = parse_urlencoded(input, what);
  EXPECT_FALSE(r.has_value()) << input;
  if (r) return {};
  EXPECT_EQ(r.error().code, Errc::bad_request);
  return r.error().reason;
}

TEST(FormData, KeepsPairsInOrderWithRepeatedKeys) {
  EXPECT_EQ(parse_ok("topic=a&data=x&topic=b&topic=a"),
            (Pairs{{"topic", "a"}, {"data", "x"}, {"topic", "b"}, {"topic", "a"}}));
}

TEST(FormData, EmptyInputGivesNoPairs) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("&").empty());
  EXPECT_TRUE(parse_ok("&&&").empty());
}

TEST(FormData, SkipsEmptyPairsAndTrailingAmpersand) {
  EXPECT_EQ(parse_ok("a=1&&b=2&"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(parse_ok("&a=1"), (Pairs{{"a", "1"}}));
}

TEST(FormData, KeyWithoutEqualsHasEmptyValue) {
  EXPECT_EQ(parse_ok("private&a"), (Pairs{{"private", ""}, {"a", ""}}));
  EXPECT_EQ(parse_ok("private=&a=1"), (Pairs{{"private", ""}, {"a", "1"}}));
}

TEST(FormData, EqualsWithoutKeyHasEmptyKey) {
  EXPECT_EQ(parse_ok("=v&="), (Pairs{{"", "v"}, {"", ""}}));
}

TEST(FormData, OnlyTheFirstEqualsSplits) {
  EXPECT_EQ(parse_ok("data=a=b==c"), (Pairs{{"data", "a=b==c"}}));
}

TEST(FormData, PlusMeansSpaceInKeysAndValues) {
  EXPECT_EQ(parse_ok("my+key=hello+world++"), (Pairs{{"my key", "hello world  "}}));
}

TEST(FormData, PercentEscapesAreDecodedInEitherCase) {
  EXPECT_EQ(parse_ok("k%65y=%7b%22a%22%3A1%7D"), (Pairs{{"key", "{\"a\":1}"}}));
}

TEST(FormData, EncodedPlusAndAmpersandAreLiteral) {
  EXPECT_EQ(parse_ok("data=1%2B1%3D2&x=a%26b%3Dc"), (Pairs{{"data", "1+1=2"}, {"x", "a&b=c"}}));
}

TEST(FormData, EncodedPercentIsNotDecodedTwice) {
  EXPECT_EQ(parse_ok("d=%2541"), (Pairs{{"d", "%41"}}));
}

TEST(FormData, SemicolonIsAnOrdinaryCharacter) {
  EXPECT_EQ(parse_ok("a=1;b=2"), (Pairs{{"a", "1;b=2"}}));
}

TEST(FormData, DecodedBytesAreNotValidated) {
  // UTF-8, an invalid UTF-8 byte, NUL and CRLF come through as they are.
  EXPECT_EQ(parse_ok("u=%C3%A9t%C3%A9&bin=%FF%00%0D%0A"),
            (Pairs{{"u", "\xC3\xA9t\xC3\xA9"}, {"bin", std::string("\xFF\0\r\n", 4)}}));
  EXPECT_EQ(parse_ok("raw=\xC3\xA9"), (Pairs{{"raw", "\xC3\xA9"}}));
}

TEST(FormData, MalformedEscapeInValueNamesTheField) {
  EXPECT_EQ(parse_error("topic=a&data=%"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("data=%4"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("data=%zz"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("data=%4g1"), "malformed percent-encoding in form field \"data\"");
  EXPECT_EQ(parse_error("data=ok%"), "malformed percent-encoding in form field \"data\"");
}

TEST(FormData, MalformedEscapeNamesWhatWasParsed) {
  EXPECT_EQ(parse_error("topic=%x1", "query"), "malformed percent-encoding in query field \"topic\"");
}

TEST(FormData, MalformedEscapeInAnyFieldFailsTheWholeInput) {
  EXPECT_EQ(parse_error("a=1&b=2&unknown=%g0"), "malformed percent-encoding in form field \"unknown\"");
}

TEST(FormData, MalformedEscapeInKeyShowsTheRawKey) {
  EXPECT_EQ(parse_error("to%pic=x"), "malformed percent-encoding in form field \"to%pic\"");
  EXPECT_EQ(parse_error("k%"), "malformed percent-encoding in form field \"k%\"");
}

TEST(FormData, ReasonStaysOnePrintableBoundedLine) {
  EXPECT_EQ(parse_error("a%0Ab%22c%5C%FF=%"), "malformed percent-encoding in form field \"a\\x0Ab\\x22c\\x5C\\xFF\"");
  const std::string reason = parse_error(std::string(1000, 'k') + "=%");
  EXPECT_EQ(reason, "malformed percent-encoding in form field \"" + std::string(64, 'k') + "...\"");
}

TEST(FormData, PercentEncodeKeepsUnreservedAlways) {
  const std::string_view unreserved = "AZaz09-._~";
  EXPECT_EQ(percent_encode(unreserved, true), unreserved);
  EXPECT_EQ(percent_encode(unreserved, false), unreserved);
}

TEST(FormData, PercentEncodeReservedOnlyWhenAsked) {
  const std::string_view reserved = ":/?#[]@!$&'()*+,;=";
  EXPECT_EQ(percent_encode(reserved, false), reserved);
  EXPECT_EQ(percent_encode(reserved, true), "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D");
  EXPECT_EQ(percent_encode("https://example.com/books/1", true), "https%3A%2F%2Fexample.com%2Fbooks%2F1");
}

TEST(FormData, PercentEncodeEscapesEverythingElseUpperCase) {
  EXPECT_EQ(percent_encode("a b%c\"\x7f", false), "a%20b%25c%22%7F");
  EXPECT_EQ(percent_encode("\xC3\xA9", true), "%C3%A9");
  EXPECT_EQ(percent_encode(std::string_view("\0", 1), true), "%00");
  EXPECT_EQ(percent_encode("", true), "");
}

TEST(FormData, PercentDecodeRoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (const bool reserved : {false, true}) {
    const auto decoded = percent_decode(percent_encode(all, reserved));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, all);
  }
}

TEST(FormData, PercentDecodeTreatsPlusAsSpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b%2B"), "a+b+");
  EXPECT_EQ(percent_decode("a+b%2B", true), "a b+");
}

TEST(FormData, PercentDecodeRejectsMalformedEscapes) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("abc%"));
  EXPECT_EQ(percent_decode(""), "");
}

}  // namespace
}  // namespace mercure
