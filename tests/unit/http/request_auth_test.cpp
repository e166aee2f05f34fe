#include "http/request_auth.hpp"

#include "http/header_text.hpp"

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

TEST(RequestAuth, AnOpaqueOriginIsAnOriginNotAnAbsentOne) {
  const std::vector<std::string> allowed{"https://app.example.com"};
  // A sandboxed document of an allowed site sends Origin: null and its Referer.
  const auto refused = check_publish_origin("null", "https://app.example.com/page", allowed);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, "origin \"null\" is not in publish_origins");
  EXPECT_TRUE(check_publish_origin("null", "", {"null"}).has_value());
  EXPECT_TRUE(check_publish_origin("null", "", {"*"}).has_value());
}

TEST(RequestAuth, CsrfCheckTakesWildcardsAndIgnoresCase) {
  const std::vector<std::string> allowed{"https://*.example.com", "https://Admin.Example.org"};
  EXPECT_TRUE(check_publish_origin("https://app.example.com", "", allowed).has_value());
  EXPECT_TRUE(check_publish_origin("", "https://a.b.example.com/page", allowed).has_value());
  EXPECT_TRUE(check_publish_origin("https://admin.example.org", "", allowed).has_value());
  EXPECT_FALSE(check_publish_origin("http://app.example.com", "", allowed).has_value());
  EXPECT_FALSE(check_publish_origin("https://example.com.evil.net", "", allowed).has_value());
}

TEST(HeaderText, OriginMatchesAsTheReferenceHubReadsItsLists) {
  EXPECT_TRUE(origin_matches("https://a.example", "*"));
  EXPECT_TRUE(origin_matches("null", "*"));
  EXPECT_TRUE(origin_matches("https://a.example", "https://a.example"));
  EXPECT_TRUE(origin_matches("HTTPS://A.Example", "https://a.example"));
  EXPECT_FALSE(origin_matches("https://a.example:8443", "https://a.example"));
  EXPECT_TRUE(origin_matches("https://x.a.example", "https://*.a.example"));
  EXPECT_TRUE(origin_matches("https://x.y.a.example", "https://*.a.example"));
  EXPECT_FALSE(origin_matches("https://a.example", "https://*.a.example")) << "the dot is part of the suffix";
  EXPECT_FALSE(origin_matches("https://xa.example", "https://*.a.example"));
  EXPECT_TRUE(origin_matches("http://localhost:5173", "http://localhost:*"));
  EXPECT_FALSE(origin_matches("https://localhost:5173", "http://localhost:*"));
  EXPECT_FALSE(origin_matches("https://.example", "https://*.*.example")) << "one wildcard; the second '*' is text";
  EXPECT_FALSE(origin_matches("", "https://a.example"));
  EXPECT_FALSE(origin_matches("null", "https://*"));
}

}  // namespace
}  // namespace mercure
