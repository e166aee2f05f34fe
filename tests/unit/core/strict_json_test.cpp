#include "core/strict_json.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <string>

namespace mercure {
namespace {

TEST(StrictJson, AcceptsADocumentAndKeepsItsValue) {
  auto v = parse_strict_json(R"({"a":[1,-2.5e3,true,null,{"b":"\u00e9"}]})", "doc");
  ASSERT_TRUE(v.has_value()) << v.error().reason;
  EXPECT_EQ(boost::json::serialize(*v), R"({"a":[1,-2.5E3,true,null,{"b":"é"}]})");
}

TEST(StrictJson, RejectsDuplicateKeys) {
  auto v = parse_strict_json(R"({"a":1,"b":{"c":1,"c":2}})", "header");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, Errc::bad_request);
  EXPECT_EQ(v.error().reason, "duplicate key \"c\" in header");
}

// Found by fuzz/jwt_verify (input "1e3087"): Boost.JSON 1.81 parses a number beyond the double
// range as an infinity and serializes it as `Infinity`, which no JSON parser accepts, so a
// token's payload claim could make the hub emit invalid JSON.
TEST(StrictJson, RejectsNumbersBeyondTheDoubleRange) {
  for (const char* text : {"1e3087", "-1e400", R"({"n":[1E+999]})", "123456789e400"}) {
    SCOPED_TRACE(text);
    auto v = parse_strict_json(text, "payload");
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code, Errc::bad_request);
    EXPECT_EQ(v.error().reason, "payload has a number out of range");
  }
  for (const char* text : {"1.7976931348623157e308", "-1.7976931348623157e308", "4.9e-324", "1e-400"}) {
    SCOPED_TRACE(text);
    auto v = parse_strict_json(text, "payload");
    ASSERT_TRUE(v.has_value()) << v.error().reason;
    const std::string again = boost::json::serialize(*v);
    auto reparsed = parse_strict_json(again, "payload");
    ASSERT_TRUE(reparsed.has_value()) << again;
    EXPECT_EQ(*reparsed, *v);
  }
}

TEST(StrictJson, RejectsInvalidJson) {
  for (const char* text : {"", "{", "[1,]", "{\"a\":1}x", "\"\xC3\x28\"", "// c\n1"}) {
    SCOPED_TRACE(text);
    auto v = parse_strict_json(text, "doc");
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().reason.rfind("doc is not valid JSON (", 0), 0U) << v.error().reason;
  }
}

}  // namespace
}  // namespace mercure
