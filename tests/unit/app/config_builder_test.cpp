#include "app/config_loader.hpp"

#include "../core/jwt_cases.hpp"
#include "config_loading.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace mercure {
namespace {

using namespace config_test;  // NOLINT(google-build-using-namespace): the tests' own helpers
using std::chrono::milliseconds;

// ----- validation --------------------------------------------------------------------------------

TEST(ConfigBuilder, MissingPublisherKeyIsAnError) {
  const ConfigError e = load_error({{"SUBSCRIBER_JWT_KEY", "s"}});
  EXPECT_EQ(e.setting(), "PUBLISHER_JWT_KEY");
  EXPECT_STREQ(e.what(),
               "missing publisher JWT key: the hub cannot authorize publishers (set MERCURE_PUBLISHER_JWT_KEY, "
               "PUBLISHER_JWT_KEY or JWT_KEY, or "
               "publisher_jwt or publisher_jwks_url in the mercure block, or run with --dev)");
}

TEST(ConfigBuilder, AKeySetUrlReplacesTheKeyOfItsRoleFromEveryLayer) {
  const Config from_env = load({{"PUBLISHER_JWKS_URL", "https://idp.example/.well-known/jwks.json"},
                                {"SUBSCRIBER_JWKS_URL", "file:///etc/mercure/jwks.json"}})
                              .config;
  EXPECT_EQ(from_env.publisher_jwt.jwks_url, "https://idp.example/.well-known/jwks.json");
  EXPECT_EQ(from_env.subscriber_jwt.jwks_url, "file:///etc/mercure/jwks.json");
  EXPECT_TRUE(from_env.publisher_jwt.key.empty());

  const Config from_flags =
      load({}, {"--publisher-jwks-url", "http://127.0.0.1:8080/jwks", "--subscriber-jwks-url", "https://a/jwks"})
          .config;
  EXPECT_EQ(from_flags.publisher_jwt.jwks_url, "http://127.0.0.1:8080/jwks");
  EXPECT_EQ(from_flags.subscriber_jwt.jwks_url, "https://a/jwks");

  const Config from_file = load({{"JWT_KEY", "k"}}, {}, R"(mercure {
  publisher_jwks_url https://idp.example/jwks
})")
                               .config;
  EXPECT_EQ(from_file.publisher_jwt.jwks_url, "https://idp.example/jwks");
  EXPECT_EQ(from_file.subscriber_jwt.key, "k");
}

TEST(ConfigBuilder, AKeyBesideAKeySetIsIgnoredWithAWarning) {
  const Loaded loaded = load({{"PUBLISHER_JWT_KEY", "secret"}, {"SUBSCRIBER_JWT_KEY", "s"}},
                             {"--publisher-jwks-url", "https://idp.example/jwks"});
  EXPECT_TRUE(loaded.config.publisher_jwt.key.empty());
  EXPECT_EQ(loaded.config.subscriber_jwt.key, "s");
  ASSERT_EQ(loaded.warnings.size(), 1U);
  EXPECT_EQ(loaded.warnings[0],
            "PUBLISHER_JWT_KEY is ignored for publishers: publisher_jwks_url is set (the publisher keys come from the "
            "key set)");
  // --dev's own key is no reason to warn.
  EXPECT_TRUE(load({}, {"--dev", "--publisher-jwks-url", "https://idp.example/jwks"}).warnings.empty());
}

TEST(ConfigBuilder, AKeySetUrlMustBeHttpsHttpOrFile) {
  const ConfigError e = load_error(kKeyed, {"--subscriber-jwks-url", "ftp://idp.example/jwks"});
  EXPECT_EQ(e.setting(), "--subscriber-jwks-url");
  EXPECT_STREQ(e.what(),
               R"(invalid --subscriber-jwks-url "ftp://idp.example/jwks": not an https://, http:// or file:// URL)");
}

TEST(ConfigBuilder, MissingSubscriberKeyIsAnErrorUnlessAnonymous) {
  const ConfigError e = load_error({{"PUBLISHER_JWT_KEY", "p"}});
  EXPECT_EQ(e.setting(), "SUBSCRIBER_JWT_KEY");
  EXPECT_TRUE(std::string(e.what()).starts_with("missing subscriber JWT key: the hub cannot authorize subscribers"));
  const Config c = load({{"PUBLISHER_JWT_KEY", "p"}, {"ALLOW_ANONYMOUS", "1"}}).config;
  EXPECT_EQ(c.subscriber_jwt.key, "");
}

TEST(ConfigBuilder, ValueErrorsAreOneLineNamingTheSettingAsWritten) {
  struct Case {
    Env env;
    Strings args;
    const char* setting;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{{"HEARTBEAT_INTERVAL", "4x"}},
       {},
       "HEARTBEAT_INTERVAL",
       "invalid HEARTBEAT_INTERVAL \"4x\": not a duration: unknown unit \"x\" (units: ns, us, ms, s, m, h, d; "
       "examples: 40s, 500ms)"},
      {{{"WRITE_TIMEOUT", "40"}},
       {},
       "WRITE_TIMEOUT",
       "invalid WRITE_TIMEOUT \"40\": not a duration: a number needs a unit (examples: 40s, 500ms, 1m30s)"},
      {{{"DISPATCH_TIMEOUT", "-5s"}},
       {},
       "DISPATCH_TIMEOUT",
       "invalid DISPATCH_TIMEOUT \"-5s\": negative durations are not allowed"},
      {{},
       {"--read-timeout", "soon"},
       "--read-timeout",
       "invalid --read-timeout \"soon\": not a duration (examples: 40s, 500ms, 1m30s)"},
      {{{"ALLOW_ANONYMOUS", "maybe"}},
       {},
       "ALLOW_ANONYMOUS",
       "invalid ALLOW_ANONYMOUS \"maybe\": not a boolean (use true/false, 1/0, yes/no or on/off)"},
      {{{"ADDR", ":70000"}}, {}, "ADDR", "invalid ADDR \":70000\": port out of range (0-65535)"},
      {{{"ADDR", "localhost"}},
       {},
       "ADDR",
       "invalid ADDR \"localhost\": missing port (examples: :3000, 127.0.0.1:3000, [::1]:3000)"},
      {{}, {"--addr", ":-1"}, "--addr", "invalid --addr \":-1\": not a port number"},
      {{{"WORKERS", "1025"}}, {}, "WORKERS", "invalid WORKERS \"1025\": at most 1024 workers"},
      {{}, {"--workers", "-1"}, "--workers", "invalid --workers \"-1\": must not be negative"},
      {{{"WORKERS", "two"}}, {}, "WORKERS", "invalid WORKERS \"two\": not a whole number (0 = one worker per core)"},
      {{{"JWT_ALGORITHM", "XX999"}},
       {},
       "JWT_ALGORITHM",
       "invalid JWT_ALGORITHM \"XX999\": unsupported JWT algorithm (supported: HS256, HS384, HS512, RS256, RS384, "
       "RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)"},
      {{{"MERCURE_SUBSCRIBER_JWT_ALG", "none"}},
       {},
       "MERCURE_SUBSCRIBER_JWT_ALG",
       "invalid MERCURE_SUBSCRIBER_JWT_ALG \"none\": unsupported JWT algorithm (supported: HS256, HS384, HS512, "
       "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)"},
      {{{"LOG_FORMAT", "xml"}}, {}, "LOG_FORMAT", "invalid LOG_FORMAT \"xml\": unknown log format (use text or json)"},
      {{{"COOKIE_NAME", "a b"}}, {}, "COOKIE_NAME", "invalid COOKIE_NAME \"a b\": not a valid cookie name"},
      {{{"TRANSPORT_URL", "/var/db"}},
       {},
       "TRANSPORT_URL",
       "invalid TRANSPORT_URL \"/var/db\": not a transport URL (examples: local://, lmdb:///var/lib/mercure/hub.db, "
       "redis://127.0.0.1:6379/0)"},
      {{{"CERT_FILE", "c.pem"}}, {}, "KEY_FILE", "missing KEY_FILE: CERT_FILE is set, TLS needs both"},
      {{{"METRICS_ENABLED", "1"}, {"METRICS_ADDR", ":3000"}},
       {},
       "METRICS_ADDR",
       "invalid METRICS_ADDR \":3000\": the metrics endpoint needs an address other than the hub's"},
      {{{"HEARTBEAT_INTERVAL", "4\nx"}},
       {},
       "HEARTBEAT_INTERVAL",
       "invalid HEARTBEAT_INTERVAL \"4\\nx\": not a duration: unknown unit \"\\nx\" (units: ns, us, ms, s, m, h, "
       "d; examples: 40s, 500ms)"},
  };
  for (const Case& c : cases) {
    const ConfigError e = load_error(with(kKeyed, c.env), c.args);
    EXPECT_EQ(e.setting(), c.setting) << c.message;
    EXPECT_STREQ(e.what(), c.message);
  }
}

TEST(ConfigBuilder, KeyErrorsNeverEchoTheKey) {
  const auto cases = jwt_test::load_jwt_cases();
  // An HMAC secret given for RS256.
  ConfigError e = load_error({{"JWT_KEY", "super-secret-value"}, {"JWT_ALGORITHM", "RS256"}});
  EXPECT_EQ(e.setting(), "JWT_KEY");
  EXPECT_TRUE(std::string(e.what()).starts_with("invalid JWT_KEY: unusable as a RS256 publisher key: ")) << e.what();
  EXPECT_EQ(std::string(e.what()).find("super-secret-value"), std::string::npos);
  // A PEM given for HS256.
  const std::string pem = jwt_test::str(cases.keys.at("RS256").as_object().at("public_pem"));
  e = load_error({{"JWT_KEY", "s"}, {"MERCURE_PUBLISHER_JWT_KEY", pem}});
  EXPECT_EQ(e.setting(), "MERCURE_PUBLISHER_JWT_KEY");
  EXPECT_TRUE(std::string(e.what()).starts_with("invalid MERCURE_PUBLISHER_JWT_KEY: unusable as a HS256 publisher key"))
      << e.what();
  EXPECT_EQ(std::string(e.what()).find("BEGIN"), std::string::npos);
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
}

TEST(ConfigBuilder, EveryAsymmetricFamilyAcceptsItsPublicKey) {
  const auto cases = jwt_test::load_jwt_cases();
  for (const char* alg : {"RS256", "PS384", "ES512", "EdDSA"}) {
    const std::string pem = jwt_test::str(cases.keys.at(alg).as_object().at("public_pem"));
    const Config c = load({{"JWT_KEY", pem}, {"JWT_ALGORITHM", alg}}).config;
    EXPECT_EQ(c.publisher_jwt.algorithm, alg);
    EXPECT_EQ(c.subscriber_jwt.key, pem);
  }
}

TEST(ConfigBuilder, OriginsThatCanNeverMatchAreWarnedAbout) {
  const Loaded loaded = load(with(kKeyed, {{"CORS_ALLOWED_ORIGINS", "https://a.example/ https://b.example"}}));
  EXPECT_EQ(loaded.warnings, Strings{"cors_origins: origin \"https://a.example/\" will never match a browser's Origin "
                                     "header (expected scheme://host[:port], no path)"});
  // A wildcard and "null" (opaque origins) can match.
  EXPECT_TRUE(load(with(kKeyed, {{"PUBLISH_ALLOWED_ORIGINS", "https://*.example.com null"}})).warnings.empty());
}

TEST(ConfigBuilder, LogFormatIsCaseInsensitive) {
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "JSON"}})).config.log_format, "json");
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "Text"}})).config.log_format, "text");
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "FLUENTD"}})).config.log_format, "json");  // legacy value
}

// docs/configuration.md, "Limits": each limit from the environment, a flag and a directive.
TEST(ConfigBuilder, ProtocolsTurnHttp2OnAndOffWithCaddysNames) {
  const Config defaults = load(kKeyed).config;
  EXPECT_TRUE(defaults.h2);
  EXPECT_FALSE(defaults.h2c);
  const Config h1_only = load(with(kKeyed, {{"PROTOCOLS", "h1"}})).config;
  EXPECT_FALSE(h1_only.h2);
  EXPECT_FALSE(h1_only.h2c);
  const Config cleartext = load(kKeyed, {"--protocols", "H1,h2c"}).config;
  EXPECT_FALSE(cleartext.h2);
  EXPECT_TRUE(cleartext.h2c);
  const Loaded caddy = load(kKeyed, {}, "{\n}\nlocalhost {\n mercure {\n  protocols h1 h2 h3\n }\n}\n");
  EXPECT_TRUE(caddy.config.h2);
  EXPECT_FALSE(caddy.config.h2c);
  EXPECT_EQ(caddy.warnings, Strings{"protocols: h3 (HTTP/3) is not served; h1 and h2 are"});

  EXPECT_STREQ(load_error(with(kKeyed, {{"PROTOCOLS", "h1 spdy"}})).what(),
               "invalid PROTOCOLS \"h1 spdy\": unknown protocol \"spdy\" (use h1, h2, h2c)");
  EXPECT_STREQ(load_error(kKeyed, {"--protocols", "h2"}).what(),
               "invalid --protocols \"h2\": must include h1 (HTTP/1.1 is always served)");
}

TEST(ConfigBuilder, LimitsAreReadFromEveryLayer) {
  const Config env = load(with(kKeyed, {{"READ_HEADER_TIMEOUT", "3s"},
                                        {"IDLE_TIMEOUT", "1m"},
                                        {"MAX_BODY_SIZE", "2MiB"},
                                        {"MAX_HEADER_SIZE", "64KiB"},
                                        {"MAX_TOPICS", "10"},
                                        {"MAX_SELECTORS", "20"},
                                        {"MAX_TOPIC_LENGTH", "2KB"},
                                        {"MAX_CONNECTIONS", "5000"},
                                        {"MAX_CONNECTIONS_PER_IP", "50"},
                                        {"MAX_STREAMS_PER_TOKEN", "4"}}))
                         .config;
  EXPECT_EQ(env.read_header_timeout, milliseconds{3'000});
  EXPECT_EQ(env.idle_timeout, milliseconds{60'000});
  EXPECT_EQ(env.max_body_size, 2U * 1024U * 1024U);
  EXPECT_EQ(env.max_header_size, 64U * 1024U);
  EXPECT_EQ(env.max_topics, 10U);
  EXPECT_EQ(env.max_selectors, 20U);
  EXPECT_EQ(env.max_topic_length, 2000U);
  EXPECT_EQ(env.max_connections, 5000U);
  EXPECT_EQ(env.max_connections_per_ip, 50U);
  EXPECT_EQ(env.max_streams_per_token, 4U);

  const Config flags =
      load(kKeyed, {"--read-header-timeout",   "1s",   "--idle-timeout",    "0", "--max-body-size",          "10KB",
                    "--max-header-size",       "4KiB", "--max-topics",      "0", "--max-selectors",          "7",
                    "--max-topic-length",      "100",  "--max-connections", "9", "--max-connections-per-ip", "3",
                    "--max-streams-per-token", "2"})
          .config;
  EXPECT_EQ(flags.read_header_timeout, milliseconds{1'000});
  EXPECT_EQ(flags.idle_timeout, milliseconds{0});
  EXPECT_EQ(flags.max_body_size, 10'000U);
  EXPECT_EQ(flags.max_header_size, 4096U);
  EXPECT_EQ(flags.max_topics, 0U);
  EXPECT_EQ(flags.max_selectors, 7U);
  EXPECT_EQ(flags.max_topic_length, 100U);
  EXPECT_EQ(flags.max_connections, 9U);
  EXPECT_EQ(flags.max_connections_per_ip, 3U);
  EXPECT_EQ(flags.max_streams_per_token, 2U);

  const Config file = load(kKeyed, {},
                           "mercure {\n"
                           "  read_header_timeout 2s\n  idle_timeout 30s\n  max_body_size 512KiB\n"
                           "  max_header_size 32KiB\n  max_topics 5\n  max_selectors 6\n  max_topic_length 1KiB\n"
                           "  max_connections 100\n  max_connections_per_ip 10\n  max_streams_per_token 1\n}\n")
                          .config;
  EXPECT_EQ(file.read_header_timeout, milliseconds{2'000});
  EXPECT_EQ(file.idle_timeout, milliseconds{30'000});
  EXPECT_EQ(file.max_body_size, 512U * 1024U);
  EXPECT_EQ(file.max_header_size, 32U * 1024U);
  EXPECT_EQ(file.max_topics, 5U);
  EXPECT_EQ(file.max_selectors, 6U);
  EXPECT_EQ(file.max_topic_length, 1024U);
  EXPECT_EQ(file.max_connections, 100U);
  EXPECT_EQ(file.max_connections_per_ip, 10U);
  EXPECT_EQ(file.max_streams_per_token, 1U);
}

TEST(ConfigBuilder, BadLimitsAreOneLineErrorsNamingTheSetting) {
  EXPECT_STREQ(load_error(with(kKeyed, {{"MAX_BODY_SIZE", "1XB"}})).what(),
               "invalid MAX_BODY_SIZE \"1XB\": not a size: unknown unit \"xb\" (units: B, KB, KiB, MB, MiB, GB, GiB)");
  EXPECT_STREQ(load_error(with(kKeyed, {{"MAX_BODY_SIZE", "0"}})).what(),
               "invalid MAX_BODY_SIZE \"0\": must be at least 1 byte (publishing needs a body)");
  EXPECT_STREQ(load_error(with(kKeyed, {{"MAX_HEADER_SIZE", "100"}})).what(),
               "invalid MAX_HEADER_SIZE \"100\": must be at least 1KiB");
  EXPECT_STREQ(load_error(with(kKeyed, {{"MAX_HEADER_SIZE", "65537"}})).what(),
               "invalid MAX_HEADER_SIZE \"65537\": must be at most 64KiB");
  EXPECT_STREQ(load_error(kKeyed, {"--max-topics", "many"}).what(),
               "invalid --max-topics \"many\": not a whole number");
  EXPECT_STREQ(load_error(with(kKeyed, {{"MAX_CONNECTIONS_PER_IP", "-3"}})).what(),
               "invalid MAX_CONNECTIONS_PER_IP \"-3\": must not be negative");
  EXPECT_STREQ(load_error(with(kKeyed, {{"IDLE_TIMEOUT", "5"}})).what(),
               "invalid IDLE_TIMEOUT \"5\": not a duration: a number needs a unit (examples: 40s, 500ms, 1m30s)");
  EXPECT_STREQ(load_error(kKeyed, {}, "mercure {\n  max_streams_per_token 1 2\n}\n").what(),
               "hub.conf line 2: max_streams_per_token takes exactly one value");
}

}  // namespace
}  // namespace mercure
