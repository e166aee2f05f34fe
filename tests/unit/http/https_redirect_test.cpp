#include "http/https_redirect.hpp"

#include "http/acme_challenges.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

Request request(http::verb method, std::string target) {
  Request req{method, target, 11};
  req.set(http::field::host, "hub.example.com");
  return req;
}

TEST(HttpsRedirect, EveryRequestGoesToTheSameTargetOverHttpsOnTheSiteName) {
  const HttpsRedirect site{"hub.example.com", 443, nullptr};
  auto res = https_redirect_response(request(http::verb::get, "/.well-known/mercure?topic=%2Fa&x=1"), site);
  EXPECT_EQ(res.result(), http::status::permanent_redirect);  // 308: a POST stays a POST
  EXPECT_EQ(res[http::field::location], "https://hub.example.com/.well-known/mercure?topic=%2Fa&x=1");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res.body(), "");

  res = https_redirect_response(request(http::verb::post, "/.well-known/mercure"), site);
  EXPECT_EQ(res.result(), http::status::permanent_redirect);
  EXPECT_EQ(res[http::field::location], "https://hub.example.com/.well-known/mercure");
  // The absolute form of a proxy's request: its path and query; OPTIONS *: the root.
  res = https_redirect_response(request(http::verb::get, "http://other.example:80/a/b?c=d"), site);
  EXPECT_EQ(res[http::field::location], "https://hub.example.com/a/b?c=d");
  res = https_redirect_response(request(http::verb::get, "http://other.example?c=d"), site);
  EXPECT_EQ(res[http::field::location], "https://hub.example.com/?c=d");
  res = https_redirect_response(request(http::verb::options, "*"), site);
  EXPECT_EQ(res[http::field::location], "https://hub.example.com/");
}

TEST(HttpsRedirect, AnHttpsPortOtherThan443IsWrittenInTheLocation) {
  const HttpsRedirect site{"hub.example.com", 8443, nullptr};
  const auto res = https_redirect_response(request(http::verb::head, "/healthz"), site);
  EXPECT_EQ(res[http::field::location], "https://hub.example.com:8443/healthz");
}

TEST(HttpsRedirect, APendingHttp01TokenIsAnsweredWithItsKeyAuthorizationAndOthersAre404) {
  auto challenges = std::make_shared<AcmeChallenges>();
  const HttpsRedirect site{"hub.example.com", 443, challenges};
  const std::string token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
  const std::string path = std::string(kAcmeChallengePrefix) + token;
  EXPECT_EQ(https_redirect_response(request(http::verb::get, path), site).result(), http::status::not_found);

  challenges->set_http(token, token + ".thumbprint");
  auto res = https_redirect_response(request(http::verb::get, path), site);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), token + ".thumbprint");
  EXPECT_EQ(res[http::field::content_type], "text/plain");
  EXPECT_EQ(https_redirect_response(request(http::verb::get, path + "x"), site).result(), http::status::not_found);
  // Another method on the challenge's path is an ordinary request: redirected.
  EXPECT_EQ(https_redirect_response(request(http::verb::post, path), site).result(), http::status::permanent_redirect);

  challenges->erase_http(token);
  EXPECT_EQ(https_redirect_response(request(http::verb::get, path), site).result(), http::status::not_found);
  // Without an ACME manager (certificate files), nothing is answered there.
  challenges->set_http(token, "x");
  const HttpsRedirect files{"hub.example.com", 443, nullptr};
  EXPECT_EQ(https_redirect_response(request(http::verb::get, path), files).result(), http::status::permanent_redirect);
}

}  // namespace
}  // namespace mercure
