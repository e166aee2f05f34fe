#include "http/http_types.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

TEST(HttpTypes, TargetKeepsRepeatedDecodedQueryParameters) {
  auto t = parse_target("/.well-known/mercure?topic=https%3A%2F%2Fexample.com%2F1&topic=%2Fb+c&lastEventID=x");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->path, "/.well-known/mercure");
  auto topics = t->all("topic");
  ASSERT_EQ(topics.size(), 2U);
  EXPECT_EQ(topics[0], "https://example.com/1");
  EXPECT_EQ(topics[1], "/b c");
  ASSERT_NE(t->first("lastEventID"), nullptr);
  EXPECT_EQ(*t->first("lastEventID"), "x");
  EXPECT_EQ(t->first("missing"), nullptr);
}

TEST(HttpTypes, MalformedQueryEscapeIsABadRequest) {
  auto t = parse_target("/.well-known/mercure?topic=%zz");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::bad_request);
  EXPECT_NE(t.error().reason.find("query"), std::string::npos);
}

TEST(HttpTypes, CorsEchoesAllowedOriginWithCredentialsNeverStar) {
  Request req{http::verb::get, "/", 11};
  req.set(http::field::origin, "https://app.example");
  Response res{http::status::ok, 11};
  add_cors_headers(req, {"*"}, res);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(res[http::field::access_control_allow_credentials], "true");

  Response denied{http::status::ok, 11};
  add_cors_headers(req, {"https://other.example"}, denied);
  EXPECT_EQ(denied.count(http::field::access_control_allow_origin), 0U);
}

TEST(HttpTypes, PreflightAllowsTheHeadersEventSourceClientsSend) {
  Request req{http::verb::options, "/.well-known/mercure", 11};
  req.set(http::field::origin, "https://app.example");
  req.set(http::field::access_control_request_method, "GET");
  auto res = make_preflight_response(req, {"https://app.example"});
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res[http::field::access_control_allow_headers], "authorization, cache-control, last-event-id");
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example");
}

TEST(HttpTypes, ErrorResponsesCarryTheReasonAndA429AlsoRetryAfter) {
  Request req{http::verb::get, "/", 11};
  auto limited = make_error_response(req, Error{Errc::too_many_requests, "too many event streams"});
  EXPECT_EQ(limited.result_int(), 429);
  EXPECT_EQ(limited.body(), "too many event streams\n");
  EXPECT_EQ(limited[http::field::retry_after], std::to_string(kRetryAfterSeconds));
  auto large = make_error_response(req, Error{Errc::payload_too_large, "too many topics"});
  EXPECT_EQ(large.result_int(), 413);
  EXPECT_EQ(large.count(http::field::retry_after), 0U);
}

}  // namespace
}  // namespace mercure
