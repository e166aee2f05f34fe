#include "http/request_auth.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

TEST(RequestAuth, HeaderWinsOverQueryAndCookie) {
  std::string query = "from-query";
  auto t = find_token("Bearer from-header", &query, "mercureAuthorization=from-cookie", "mercureAuthorization");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->source, TokenSource::header);
  EXPECT_EQ(t->token, "from-header");
}

TEST(RequestAuth, QueryWinsOverCookie) {
  std::string query = "from-query";
  auto t = find_token("", &query, "mercureAuthorization=from-cookie", "mercureAuthorization");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->source, TokenSource::query);
  EXPECT_EQ(t->token, "from-query");
}

TEST(RequestAuth, CookieByConfiguredName) {
  auto t = find_token("", nullptr, "a=b; custom=tok; mercureAuthorization=other", "custom");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->source, TokenSource::cookie);
  EXPECT_EQ(t->token, "tok");
  auto none = find_token("", nullptr, "a=b", "custom");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->source, TokenSource::none);
}

TEST(RequestAuth, NonBearerAuthorizationIsRejected) {
  auto t = find_token("Basic dXNlcjpwYXNz", nullptr, "", "mercureAuthorization");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::unauthorized);
  auto lower = find_token("bearer tok", nullptr, "", "mercureAuthorization");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->token, "tok");
}

TEST(RequestAuth, OriginOfAUrl) {
  EXPECT_EQ(origin_of("https://example.com:8443/path?q#f"), "https://example.com:8443");
  EXPECT_EQ(origin_of("http://example.com"), "http://example.com");
  EXPECT_EQ(origin_of("not a url"), "");
  EXPECT_EQ(origin_of("/relative"), "");
}

TEST(RequestAuth, CsrfCheckUsesOriginThenReferer) {
  std::vector<std::string> allowed{"https://app.example.com"};
  EXPECT_TRUE(check_publish_origin("https://app.example.com", "", allowed).has_value());
  EXPECT_TRUE(check_publish_origin("", "https://app.example.com/page", allowed).has_value());
  EXPECT_FALSE(check_publish_origin("https://evil.example", "https://app.example.com/page", allowed).has_value());
  EXPECT_FALSE(check_publish_origin("", "", allowed).has_value());
  EXPECT_TRUE(check_publish_origin("https://anything", "", {"*"}).has_value());
}

}  // namespace
}  // namespace mercure
