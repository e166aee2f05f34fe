#include "http/http_types.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/http/write.hpp>

#include <sstream>

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

TEST(HttpTypes, TheAbsoluteFormIsReadAsItsPathAndQuery) {
  auto t = parse_target("http://hub.example:3000/.well-known/mercure?topic=%2Fa");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->path, "/.well-known/mercure");
  ASSERT_NE(t->first("topic"), nullptr);
  EXPECT_EQ(*t->first("topic"), "/a");
  EXPECT_EQ(parse_target("HTTPS://hub.example/healthz")->path, "/healthz");
  EXPECT_EQ(parse_target("http://hub.example")->path, "/");
  auto q = parse_target("http://hub.example?topic=x");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->path, "/");
  EXPECT_EQ(*q->first("topic"), "x");
  // Only at the start: a path that merely contains a URL is a path.
  EXPECT_EQ(parse_target("/http://x/y")->path, "/http://x/y");
}

TEST(HttpTypes, PathPrefixesAreRemovedInTurnWhenThePathStartsWithThem) {
  // A Caddyfile's handle_path /hub/*: the hub sees its own paths.
  const std::vector<std::string> hub{"/hub"};
  auto t = parse_target("/hub/.well-known/mercure?topic=x", hub);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->path, "/.well-known/mercure");
  EXPECT_EQ(*t->first("topic"), "x");
  EXPECT_EQ(parse_target("/HUB/.well-known/mercure", hub)->path, "/.well-known/mercure");  // as Caddy's matcher
  EXPECT_EQ(parse_target("/hub", hub)->path, "/hub");                                      // /hub/* does not match it
  EXPECT_EQ(parse_target("/hub?topic=x", hub)->path, "/hub");
  EXPECT_EQ(parse_target("/hubs/.well-known/mercure", hub)->path, "/hubs/.well-known/mercure");
  EXPECT_EQ(parse_target("/.well-known/mercure", hub)->path, "/.well-known/mercure");  // still served
  EXPECT_EQ(parse_target("/x/hub/.well-known/mercure", hub)->path, "/x/hub/.well-known/mercure");
  // Each in turn, when present (Caddy's uri strip_prefix does nothing on a path without it).
  const std::vector<std::string> nested{"/a", "/b"};
  EXPECT_EQ(parse_target("http://h.example/a/b/.well-known/mercure/subscriptions", nested)->path,
            "/.well-known/mercure/subscriptions");
  EXPECT_EQ(parse_target("/a/.well-known/mercure", nested)->path, "/.well-known/mercure");
  EXPECT_EQ(parse_target("/b/.well-known/mercure", nested)->path, "/.well-known/mercure");
  EXPECT_EQ(parse_target("/b/a/.well-known/mercure", nested)->path, "/a/.well-known/mercure");
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

  EXPECT_EQ(res[http::field::vary], "Origin");

  Response denied{http::status::ok, 11};
  add_cors_headers(req, {"https://other.example"}, denied);
  EXPECT_EQ(denied.count(http::field::access_control_allow_origin), 0U);
  // Cacheable answers (the subscriptions API) differ by Origin even when it is not allowed.
  EXPECT_EQ(denied[http::field::vary], "Origin");
  Response no_origin{http::status::ok, 11};
  add_cors_headers(Request{http::verb::get, "/", 11}, {"https://other.example"}, no_origin);
  EXPECT_EQ(no_origin[http::field::vary], "Origin");
  Response no_cors{http::status::ok, 11};
  add_cors_headers(req, {}, no_cors);
  EXPECT_EQ(no_cors.count(http::field::vary), 0U);
}

TEST(HttpTypes, CorsOriginsTakeAWildcardAndIgnoreCase) {
  Request req{http::verb::get, "/", 11};
  req.set(http::field::origin, "https://app.example.com");
  Response res{http::status::ok, 11};
  add_cors_headers(req, {"https://*.example.com"}, res);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example.com") << "the request's origin echoed";
  Response upper{http::status::ok, 11};
  add_cors_headers(req, {"https://App.Example.com"}, upper);
  EXPECT_EQ(upper[http::field::access_control_allow_origin], "https://app.example.com");
  Response other{http::status::ok, 11};
  add_cors_headers(req, {"https://*.example.org"}, other);
  EXPECT_EQ(other.count(http::field::access_control_allow_origin), 0U);
}

TEST(HttpTypes, SeveralCookieFieldsBecomeOne) {
  Request req{http::verb::get, "/", 11};
  req.insert(http::field::cookie, "a=b");
  req.insert(http::field::host, "hub");
  req.insert(http::field::cookie, "mercureAuthorization=tok; c=d");
  join_cookie_fields(req);
  EXPECT_EQ(req.count(http::field::cookie), 1U);
  EXPECT_EQ(req[http::field::cookie], "a=b; mercureAuthorization=tok; c=d");
  Request one{http::verb::get, "/", 11};
  one.insert(http::field::cookie, "a=b");
  join_cookie_fields(one);
  EXPECT_EQ(one[http::field::cookie], "a=b");
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

TEST(HttpTypes, TextResponsesHaveTheFieldsBeastsHelpersWouldSet) {
  for (const unsigned version : {10U, 11U}) {
    for (const char* connection : {"", "close", "keep-alive", "Upgrade, keep-alive", "close, keep-alive"}) {
      for (const auto status : {http::status::ok, http::status::not_found, http::status::no_content}) {
        Request req{http::verb::post, "/", version};
        if (*connection != '\0') req.set(http::field::connection, connection);
        const std::string body = status == http::status::no_content ? "" : "urn:uuid:x\n";
        Response expected{status, version};
        expected.set(http::field::content_type, "text/plain; charset=utf-8");
        add_security_fields(expected);
        expected.keep_alive(req.keep_alive());
        expected.body() = body;
        expected.prepare_payload();
        auto res = make_text_response(req, status, body);
        std::string ours, theirs;
        serialize_response_head(res, ours);
        serialize_response_head(expected, theirs);
        EXPECT_EQ(ours, theirs) << version << " " << connection << " " << res.result_int();
        EXPECT_EQ(res.body(), body);
        EXPECT_EQ(res.keep_alive(), expected.keep_alive());
      }
    }
  }
}

// What Beast's serializer sends for `res`: the reference for serialize_response_head.
std::string beast_bytes(const Response& res, bool head_only) {
  std::ostringstream out;
  if (head_only) {
    out << res.base();
  } else {
    out << res;
  }
  return out.str();
}

std::string our_bytes(const Response& res, bool head_only) {
  std::string out = "unchanged:";
  serialize_response_head(res, out);
  if (!head_only) out += res.body();
  return out.substr(10);
}

TEST(HttpTypes, SerializedResponsesAreTheBytesBeastWouldSend) {
  Request req11{http::verb::post, "/.well-known/mercure", 11};
  req11.set(http::field::origin, "https://app.example");
  Request req10{http::verb::post, "/.well-known/mercure", 10};
  req10.set(http::field::connection, "keep-alive");
  Request close11{http::verb::get, "/", 11};
  close11.set(http::field::connection, "close");

  std::vector<Response> responses;
  responses.push_back(make_text_response(req11, http::status::ok, "urn:uuid:0192f3a4-0000-7000-8000-000000000000"));
  add_cors_headers(req11, {"*"}, responses.back());
  responses.push_back(make_text_response(req10, http::status::ok, "id"));
  responses.push_back(make_text_response(close11, http::status::not_found, "not found\n"));
  responses.push_back(make_error_response(req11, Error{Errc::too_many_requests, "too many event streams"}));
  responses.push_back(make_preflight_response(req11, {"https://app.example"}));
  responses.push_back(make_text_response(req11, http::status::ok, ""));
  Response custom{http::status::accepted, 11};
  custom.reason("Custom Reason");
  custom.insert("X-Unknown-Field", "value");
  custom.body() = std::string(5000, 'b');
  custom.prepare_payload();
  responses.push_back(custom);
  Response unknown_status{static_cast<http::status>(299), 11};
  unknown_status.prepare_payload();
  responses.push_back(unknown_status);

  for (const auto& res : responses) {
    for (const bool head_only : {false, true}) {
      EXPECT_EQ(our_bytes(res, head_only), beast_bytes(res, head_only)) << res.result_int() << " head " << head_only;
    }
  }
}

TEST(HttpTypes, APublishOkHeadIsTheHeadOfTheTextResponseWithItsCorsFields) {
  const std::string id = "urn:uuid:0192f3a4-0000-7000-8000-000000000000";
  for (const unsigned version : {10U, 11U}) {
    for (const char* connection : {"", "close", "keep-alive"}) {
      for (const char* origin : {"", "https://app.example"}) {
        Request req{http::verb::post, "/.well-known/mercure", version};
        if (*connection != '\0') req.set(http::field::connection, connection);
        if (*origin != '\0') req.set(http::field::origin, origin);
        auto res = make_text_response(req, http::status::ok, id);
        if (*origin != '\0') add_cors_headers(req, {"*"}, res);
        std::string expected = "unchanged:";
        serialize_response_head(res, expected);
        std::string ours = "unchanged:";
        append_ok_text_head(ours, version, req.keep_alive(), id.size(), origin);
        EXPECT_EQ(ours, expected) << version << " " << connection << " " << origin;
        EXPECT_EQ(beast_bytes(res, false), ours.substr(10) + id);
      }
    }
  }
  // Stopping: a kept-alive HTTP/1.1 request is answered with Connection: close.
  std::string closing;
  append_ok_text_head(closing, 11, false, 2, "");
  EXPECT_EQ(closing,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"
            "X-Frame-Options: DENY\r\nConnection: close\r\nContent-Length: 2\r\n\r\n");
}

TEST(HttpTypes, SendNowWritesWhatTheKernelTakesAndLeavesTheRest) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(io), server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);

  const std::string head = "HTTP/1.1 200 OK\r\n\r\n", body = "id";
  std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(body)};
  ASSERT_TRUE(send_now(server, wire));
  EXPECT_EQ(wire[0].size() + wire[1].size(), 0U);
  std::string got(head.size() + body.size(), '\0');
  asio::read(client, asio::buffer(got));
  EXPECT_EQ(got, head + body);

  std::array<asio::const_buffer, 2> empty_body{asio::buffer(head), asio::const_buffer()};
  EXPECT_TRUE(send_now(server, empty_body));

  // More than the kernel takes at once: the rest is left for an asynchronous write.
  const std::string large(32 * 1024 * 1024, 'x');
  std::array<asio::const_buffer, 2> partial{asio::buffer(head), asio::buffer(large)};
  EXPECT_FALSE(send_now(server, partial));
  EXPECT_EQ(partial[0].size(), 0U);
  EXPECT_GT(partial[1].size(), 0U);
  EXPECT_LT(partial[1].size(), large.size());

  // An error leaves everything to the asynchronous write, which meets it again.
  server.close();
  std::array<asio::const_buffer, 2> closed{asio::buffer(head), asio::buffer(body)};
  EXPECT_FALSE(send_now(server, closed));
  EXPECT_EQ(closed[0].size(), head.size());
  EXPECT_EQ(closed[1].size(), body.size());
}

}  // namespace
}  // namespace mercure
