#include "http/request_framing.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace mercure {
namespace {

namespace http = boost::beast::http;

// The head of `raw` as Beast parses it.
http::request_header<> head_of(const std::string& raw) {
  http::request_parser<http::string_body> parser;
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << raw;
  EXPECT_TRUE(parser.is_header_done());
  return parser.get().base();
}

std::string reason_of(const std::string& raw) {
  const auto e = framing_error(head_of(raw));
  if (!e) return "";
  EXPECT_EQ(e->code, Errc::bad_request);
  return e->reason;
}

TEST(RequestFraming, OrdinaryRequestsPass) {
  EXPECT_EQ(reason_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "");
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"), "");
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), "");
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked \r\n\r\n"), "");
  EXPECT_EQ(reason_of("GET / HTTP/1.0\r\n\r\n"), "");  // HTTP/1.0 needs no Host
}

TEST(RequestFraming, ATransferEncodingThatDoesNotEndInChunkedIsRefused) {
  // Beast would read these as having no body, and the body as the next request.
  for (const char* te : {"gzip", "identity", "xchunked", "chunked, gzip", "chunked;x=1"}) {
    const auto r = reason_of(std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n");
    EXPECT_NE(r.find("must end with chunked"), std::string::npos) << te << ": " << r;
  }
  // Two lines (Beast's parser refuses this one itself; the check does not rely on it).
  http::request_header<> two;
  two.version(11);
  two.insert(http::field::host, "a");
  two.insert(http::field::transfer_encoding, "chunked");
  two.insert(http::field::transfer_encoding, "gzip");
  const auto e = framing_error(two);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->reason, "Transfer-Encoding must end with chunked (got \"gzip\")");
}

TEST(RequestFraming, OtherCodingsBeforeChunkedAndRepeatedChunkedAreRefused) {
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            "unsupported Transfer-Encoding \"gzip\" (only chunked, once, is accepted)");
  EXPECT_NE(reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), "");
  http::request_header<> twice;
  twice.version(11);
  twice.insert(http::field::host, "a");
  twice.insert(http::field::transfer_encoding, "chunked");
  twice.insert(http::field::transfer_encoding, "chunked");
  EXPECT_TRUE(framing_error(twice).has_value());
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n"), "empty Transfer-Encoding");
}

TEST(RequestFraming, ChunkedInHttp10IsRefused) {
  EXPECT_EQ(reason_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "Transfer-Encoding in an HTTP/1.0 request");
}

TEST(RequestFraming, Http11NeedsExactlyOneHost) {
  EXPECT_EQ(reason_of("GET / HTTP/1.1\r\n\r\n"), "missing Host header (HTTP/1.1)");
  EXPECT_EQ(reason_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), "more than one Host header");
  EXPECT_EQ(reason_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), "more than one Host header");
}

TEST(RequestFraming, TwoCredentialsOrTwoOriginsAreRefused) {
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\n\r\n"),
            "more than one Authorization header");
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nOrigin: https://a\r\nOrigin: https://b\r\n\r\n"),
            "more than one Origin header");
  EXPECT_EQ(reason_of("POST / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nOrigin: https://a\r\n\r\n"), "");
}

TEST(RequestFraming, TheCodingShownIsShortAndPrintable) {
  const auto r = reason_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + std::string(200, 'z') + "\"\r\n\r\n");
  EXPECT_LT(r.size(), 100u);
  EXPECT_NE(r.find("..."), std::string::npos);
}

}  // namespace
}  // namespace mercure
