#include "app/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace mercure {
namespace {

using std::chrono::milliseconds;

std::string duration_error(const std::string& text) {
  try {
    (void)parse_duration(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, DefaultsAreTheDocumentedOnes) {
  const Config c;
  EXPECT_EQ(c.listen_host, "");
  EXPECT_EQ(c.listen_port, 3000);
  EXPECT_EQ(c.workers, 0U);
  EXPECT_EQ(c.publisher_jwt.key, "");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS256");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS256");
  EXPECT_FALSE(c.anonymous);
  EXPECT_FALSE(c.subscriptions);
  EXPECT_TRUE(c.cors_origins.empty());
  EXPECT_TRUE(c.publish_origins.empty());
  EXPECT_EQ(c.cookie_name, "mercureAuthorization");
  EXPECT_EQ(c.heartbeat, milliseconds{40'000});
  EXPECT_EQ(c.write_timeout, milliseconds{600'000});
  EXPECT_EQ(c.dispatch_timeout, milliseconds{5'000});
  EXPECT_EQ(c.read_timeout, milliseconds{5'000});
  EXPECT_EQ(c.read_header_timeout, milliseconds{5'000});
  EXPECT_EQ(c.idle_timeout, milliseconds{120'000});
  EXPECT_EQ(c.max_body_size, 1024U * 1024U);
  EXPECT_EQ(c.max_header_size, 16U * 1024U);
  EXPECT_EQ(c.max_topics, 1000U);
  EXPECT_EQ(c.max_selectors, 1000U);
  EXPECT_EQ(c.max_topic_length, 8U * 1024U);
  EXPECT_EQ(c.max_connections, 0U);
  EXPECT_EQ(c.max_connections_per_ip, 0U);
  EXPECT_EQ(c.max_streams_per_token, 0U);
  EXPECT_EQ(c.transport_url, "lmdb://mercure.lmdb");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_FALSE(c.ui || c.demo || c.debug || c.use_forwarded_headers || c.metrics_enabled || c.dev);
  EXPECT_EQ(c.metrics_addr, "");
}

TEST(Config, DurationsUseGoSyntax) {
  EXPECT_EQ(parse_duration("40s"), milliseconds{40'000});
  EXPECT_EQ(parse_duration("500ms"), milliseconds{500});
  EXPECT_EQ(parse_duration("1m30s"), milliseconds{90'000});
  EXPECT_EQ(parse_duration("1h"), milliseconds{3'600'000});
  EXPECT_EQ(parse_duration("2h45m10s5ms"), milliseconds{(2 * 3600 + 45 * 60 + 10) * 1000 + 5});
  EXPECT_EQ(parse_duration("1.5s"), milliseconds{1'500});
  EXPECT_EQ(parse_duration(".5m"), milliseconds{30'000});
  EXPECT_EQ(parse_duration("1d"), milliseconds{86'400'000});
  EXPECT_EQ(parse_duration("600s"), milliseconds{600'000});
  EXPECT_EQ(parse_duration("5000000000ns"), milliseconds{5'000});
  EXPECT_EQ(parse_duration(" 10s "), milliseconds{10'000});
  EXPECT_EQ(parse_duration("+3s"), milliseconds{3'000});
}

TEST(Config, ZeroDurationDisablesAndNeedsNoUnit) {
  EXPECT_EQ(parse_duration("0"), milliseconds{0});
  EXPECT_EQ(parse_duration("0s"), milliseconds{0});
  EXPECT_EQ(parse_duration("0ms"), milliseconds{0});
  EXPECT_EQ(parse_duration("-0"), milliseconds{0});
}

TEST(Config, SubMillisecondDurationsRoundUpSoTheyNeverDisable) {
  EXPECT_EQ(parse_duration("250us"), milliseconds{1});
  EXPECT_EQ(parse_duration("250\xC2\xB5s"), milliseconds{1});  // U+00B5 micro sign
  EXPECT_EQ(parse_duration("250\xCE\xBCs"), milliseconds{1});  // U+03BC mu
  EXPECT_EQ(parse_duration("1ns"), milliseconds{1});
  EXPECT_EQ(parse_duration("1500us"), milliseconds{2});
  EXPECT_EQ(parse_duration("1000us"), milliseconds{1});
}

TEST(Config, BareNumbersOtherThanZeroAreRejected) {
  EXPECT_NE(duration_error("40").find("a number needs a unit"), std::string::npos) << duration_error("40");
  EXPECT_NE(duration_error("1.5").find("needs a unit"), std::string::npos);
}

TEST(Config, MalformedDurationsAreRejectedWithExamples) {
  for (const char* bad : {"", "  ", "4x", "s", "1s2", "abc", "1..5s", ".s", "-", "1 s", "10S", "5sec"}) {
    const std::string error = duration_error(bad);
    EXPECT_TRUE(error.starts_with("not a duration")) << bad << ": " << error;
    EXPECT_NE(error.find("examples: 40s, 500ms"), std::string::npos) << bad << ": " << error;
  }
  EXPECT_NE(duration_error("4x").find("unknown unit \"x\""), std::string::npos);
}

TEST(Config, NegativeAndHugeDurationsAreRejected) {
  EXPECT_EQ(duration_error("-1s"), "negative durations are not allowed");
  EXPECT_EQ(duration_error("-1m30s"), "negative durations are not allowed");
  EXPECT_NE(duration_error("2562048h").find("too large"), std::string::npos);
  EXPECT_NE(duration_error("99999999999999999999999s").find("too large"), std::string::npos);
  EXPECT_EQ(parse_duration("2562047h"), milliseconds{2562047LL * 3'600'000});  // Go's maximum, about 292 years
}

TEST(Config, DurationsFormatLikeGo) {
  EXPECT_EQ(format_duration(milliseconds{0}), "0s");
  EXPECT_EQ(format_duration(milliseconds{500}), "500ms");
  EXPECT_EQ(format_duration(milliseconds{40'000}), "40s");
  EXPECT_EQ(format_duration(milliseconds{90'000}), "1m30s");
  EXPECT_EQ(format_duration(milliseconds{1'500}), "1.5s");
  EXPECT_EQ(format_duration(milliseconds{3'600'000}), "1h0m0s");
  for (const char* text : {"40s", "1m30s", "1.25s", "2h3m4.005s", "999ms"}) {
    EXPECT_EQ(format_duration(parse_duration(text)), text);
  }
}

TEST(Config, BooleansAcceptTheUsualSpellingsInAnyCase) {
  for (const char* yes : {"1", "true", "TRUE", "True", "yes", "YES", "on", "On", " true "}) {
    EXPECT_TRUE(parse_bool(yes)) << yes;
  }
  for (const char* no : {"0", "false", "FALSE", "no", "No", "off", "OFF"}) {
    EXPECT_FALSE(parse_bool(no)) << no;
  }
  for (const char* bad : {"", "2", "y", "n", "enabled", "truth", "-1"}) {
    EXPECT_THROW((void)parse_bool(bad), std::invalid_argument) << bad;
  }
}

TEST(Config, ListsSplitOnSpacesAndCommas) {
  using V = std::vector<std::string>;
  EXPECT_EQ(parse_list("https://a.example https://b.example"), (V{"https://a.example", "https://b.example"}));
  EXPECT_EQ(parse_list("a,b, c ,, d\te\nf"), (V{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(parse_list("*"), (V{"*"}));
  EXPECT_EQ(parse_list(" , "), V{});
  EXPECT_EQ(parse_list(""), V{});
}

TEST(Config, ListenAddressesAcceptHostPortForms) {
  auto a = parse_listen_address(":3000");
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 3000);
  a = parse_listen_address("127.0.0.1:8080");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  a = parse_listen_address("[::1]:443");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 443);
  a = parse_listen_address("localhost:0");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(parse_listen_address(":65535").port, 65535);
  EXPECT_EQ(parse_listen_address(":http").port, 80);
  EXPECT_EQ(parse_listen_address("0.0.0.0:https").port, 443);
  EXPECT_EQ(parse_listen_address("0.0.0.0:1").host, "0.0.0.0");
}

TEST(Config, ListenAddressesRejectBadPortsAndShapes) {
  for (const char* bad : {":65536", ":99999", ":-1", ":abc", "localhost", "localhost:", "", "::1:80", "[::1]",
                          "[::1]80", "http://localhost:80", "local host:80", "[]:80", ":1000000"}) {
    EXPECT_THROW((void)parse_listen_address(bad), std::invalid_argument) << bad;
  }
  try {
    (void)parse_listen_address(":70000");
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "port out of range (0-65535)");
  }
}

TEST(Config, ServerNamesGiveAPortOnAllInterfaces) {
  auto a = parse_server_name(":80");
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 80);
  a = parse_server_name("localhost");
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 80);
  EXPECT_EQ(parse_server_name("localhost:3000").port, 3000);
  EXPECT_EQ(parse_server_name("example.com:8443").port, 8443);
  EXPECT_EQ(parse_server_name("http://localhost:3000").port, 3000);
  EXPECT_EQ(parse_server_name("http://example.com").port, 80);
  EXPECT_EQ(parse_server_name("https://example.com").port, 443);
  EXPECT_EQ(parse_server_name("[::1]:9000").port, 9000);
  EXPECT_EQ(parse_server_name("*.example.com").port, 80);
  // A public name without a scheme is served over HTTPS as on Caddy (automatic certificates).
  EXPECT_EQ(parse_server_name("example.com").port, 443);
  EXPECT_EQ(parse_server_name("10.0.0.1").port, 80);
  // Several addresses served the same way (Caddy's `a b` or `a, b`): their port.
  EXPECT_EQ(parse_server_name("a b").port, 80);
  EXPECT_EQ(parse_server_name("localhost:3000,127.0.0.1:3000").port, 3000);
  for (const char* bad : {"", "a.example, b.example", "a:1 b:2", "ftp://x", "localhost:99999", "localhost/path",
                          "::1:80", "a, ftp://b"}) {
    EXPECT_THROW((void)parse_server_name(bad), std::invalid_argument) << bad;
  }
}

TEST(Config, PublicCertificateNamesAreTheOnesAnAcmeCaIssues) {
  for (const char* name : {"example.com", "hub.example.co.uk", "xn--bcher-kva.example", "a-b.test"}) {
    EXPECT_TRUE(public_certificate_name(name)) << name;
  }
  for (const char* name : {"", "localhost", "hub", "app.localhost", "printer.local", "db.internal", "nas.home.arpa",
                           "*.example.com", "127.0.0.1", "10.1.2.3", "::1", "example.com.", ".example.com"}) {
    EXPECT_FALSE(public_certificate_name(name)) << name;
  }
}

TEST(Config, SiteAddressesKeepSchemeHostAndPort) {
  const SiteAddress a = parse_site_address("HTTPS://Hub.Example.com:8443");
  EXPECT_EQ(a.scheme, "https");
  EXPECT_EQ(a.host, "hub.example.com");
  EXPECT_EQ(a.port, std::optional<std::uint16_t>{8443});
  EXPECT_TRUE(a.automatic_https());
  EXPECT_FALSE(parse_site_address("http://hub.example.com").automatic_https());
  EXPECT_FALSE(parse_site_address(":80").automatic_https());
  EXPECT_FALSE(parse_site_address("localhost:3000").automatic_https());
  // On the HTTP port, as on Caddy: plain HTTP (a hub behind a proxy that terminates TLS).
  EXPECT_FALSE(parse_site_address("hub.example.com:80").automatic_https());
  EXPECT_EQ(parse_server_name("hub.example.com:80").port, 80);
  EXPECT_TRUE(parse_site_address("https://hub.example.com:80").automatic_https());
  EXPECT_EQ(parse_site_address("example.com").port, std::nullopt);
}

TEST(Config, PemKeysWithLiteralNewlineEscapesAreUnfolded) {
  EXPECT_EQ(unfold_pem("-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n"),
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  EXPECT_EQ(unfold_pem("-----BEGIN PUBLIC KEY-----\\r\\nAAAA\\r\\n-----END PUBLIC KEY-----"),
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----");
  // Real newlines: untouched. HMAC secrets: untouched, even with backslashes.
  EXPECT_EQ(unfold_pem("-----BEGIN PUBLIC KEY-----\nA\\nB\n"), "-----BEGIN PUBLIC KEY-----\nA\\nB\n");
  EXPECT_EQ(unfold_pem("se\\ncret"), "se\\ncret");
}

std::string size_error(const std::string& text) {
  try {
    (void)parse_size(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, SizesTakeDecimalAndBinaryUnits) {
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("8192"), 8192U);
  EXPECT_EQ(parse_size("10B"), 10U);
  EXPECT_EQ(parse_size("1KB"), 1000U);
  EXPECT_EQ(parse_size("1KiB"), 1024U);
  EXPECT_EQ(parse_size("1mib"), 1024U * 1024U);
  EXPECT_EQ(parse_size(" 512 KB "), 512'000U);
  EXPECT_EQ(parse_size("2MB"), 2'000'000U);
  EXPECT_EQ(parse_size("1GiB"), 1024U * 1024U * 1024U);
  EXPECT_EQ(parse_size("3gb"), 3'000'000'000U);
}

TEST(Config, MalformedSizesAreRejected) {
  EXPECT_EQ(size_error(""), "not a size (examples: 1MiB, 64KiB, 8192)");
  EXPECT_EQ(size_error("MiB"), "not a size (examples: 1MiB, 64KiB, 8192)");
  EXPECT_EQ(size_error("-1"), "must not be negative");
  EXPECT_EQ(size_error("1.5MiB"), "not a size: unknown unit \".5mib\" (units: B, KB, KiB, MB, MiB, GB, GiB)");
  EXPECT_EQ(size_error("4TB"), "not a size: unknown unit \"tb\" (units: B, KB, KiB, MB, MiB, GB, GiB)");
  EXPECT_EQ(size_error("99999999999GiB"), "size too large");
  EXPECT_EQ(size_error("9999999999999999999"), "too large");
}

TEST(Config, CountsAreWholeNumbers) {
  EXPECT_EQ(parse_count("0"), 0U);
  EXPECT_EQ(parse_count(" 1000 "), 1000U);
  EXPECT_THROW((void)parse_count("10k"), std::invalid_argument);
  EXPECT_THROW((void)parse_count("1e3"), std::invalid_argument);
  EXPECT_THROW((void)parse_count("-1"), std::invalid_argument);
  EXPECT_THROW((void)parse_count(""), std::invalid_argument);
  EXPECT_THROW((void)parse_count("1234567890123456789"), std::invalid_argument);
}

}  // namespace
}  // namespace mercure
