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

// ----- environment -----------------------------------------------------------------------------

TEST(ConfigLoader, OnlyAKeyIsNeededAndEverythingElseKeepsItsDefault) {
  const Config c = load(kKeyed).config;
  const Config d;
  EXPECT_EQ(c.publisher_jwt.key, "test-secret");
  EXPECT_EQ(c.subscriber_jwt.key, "test-secret");
  EXPECT_EQ(c.listen_host, d.listen_host);
  EXPECT_EQ(c.listen_port, d.listen_port);
  EXPECT_EQ(c.heartbeat, d.heartbeat);
  EXPECT_EQ(c.transport_url, d.transport_url);
  EXPECT_FALSE(c.dev);
}

TEST(ConfigLoader, EveryLegacyEnvironmentVariableIsRead) {
  const Config c = load({
                            {"JWT_KEY", "both-secret"},
                            {"JWT_ALGORITHM", "HS512"},
                            {"ADDR", "127.0.0.1:4000"},
                            {"ALLOW_ANONYMOUS", "1"},
                            {"CORS_ALLOWED_ORIGINS", "https://a.example https://b.example"},
                            {"PUBLISH_ALLOWED_ORIGINS", "https://c.example,https://d.example"},
                            {"HEARTBEAT_INTERVAL", "15s"},
                            {"WRITE_TIMEOUT", "1m"},
                            {"DISPATCH_TIMEOUT", "750ms"},
                            {"READ_TIMEOUT", "2s"},
                            {"SUBSCRIPTIONS", "true"},
                            {"DEMO", "yes"},
                            {"DEBUG", "on"},
                            {"TRANSPORT_URL", "lmdb:///var/lib/mercure/hub.db?size=1000"},
                            {"CERT_FILE", "/etc/tls/cert.pem"},
                            {"KEY_FILE", "/etc/tls/key.pem"},
                            {"USE_FORWARDED_HEADERS", "TRUE"},
                            {"METRICS_ENABLED", "1"},
                            {"METRICS_ADDR", "127.0.0.1:9000"},
                            {"LOG_FORMAT", "json"},
                            {"WORKERS", "3"},
                            {"COOKIE_NAME", "hubAuth"},
                            {"UI", "1"},
                        })
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "both-secret");
  EXPECT_EQ(c.subscriber_jwt.key, "both-secret");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS512");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS512");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 4000);
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.cors_origins, (Strings{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.publish_origins, (Strings{"https://c.example", "https://d.example"}));
  EXPECT_EQ(c.heartbeat, milliseconds{15'000});
  EXPECT_EQ(c.write_timeout, milliseconds{60'000});
  EXPECT_EQ(c.dispatch_timeout, milliseconds{750});
  EXPECT_EQ(c.read_timeout, milliseconds{2'000});
  EXPECT_TRUE(c.subscriptions);
  EXPECT_TRUE(c.demo);
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.transport_url, "lmdb:///var/lib/mercure/hub.db?size=1000");
  EXPECT_EQ(c.cert_file, "/etc/tls/cert.pem");
  EXPECT_EQ(c.key_file, "/etc/tls/key.pem");
  EXPECT_TRUE(c.use_forwarded_headers);
  EXPECT_TRUE(c.metrics_enabled);
  EXPECT_EQ(c.metrics_addr, "127.0.0.1:9000");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.workers, 3U);
  EXPECT_EQ(c.cookie_name, "hubAuth");
  EXPECT_TRUE(c.ui);
}

TEST(ConfigLoader, RoleSpecificLegacyVariablesBeatJwtKey) {
  const Config c = load({{"JWT_KEY", "general"},
                         {"JWT_ALGORITHM", "HS384"},
                         {"PUBLISHER_JWT_KEY", "pub-secret"},
                         {"PUBLISHER_JWT_ALGORITHM", "HS512"},
                         {"SUBSCRIBER_JWT_KEY", "sub-secret"},
                         {"SUBSCRIBER_JWT_ALGORITHM", "HS256"}})
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "pub-secret");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS512");
  EXPECT_EQ(c.subscriber_jwt.key, "sub-secret");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS256");

  const Config partial =
      load({{"JWT_KEY", "general"}, {"JWT_ALGORITHM", "HS384"}, {"PUBLISHER_JWT_KEY", "pub"}}).config;
  EXPECT_EQ(partial.publisher_jwt.key, "pub");
  EXPECT_EQ(partial.publisher_jwt.algorithm, "HS384");
  EXPECT_EQ(partial.subscriber_jwt.key, "general");
  EXPECT_EQ(partial.subscriber_jwt.algorithm, "HS384");
}

TEST(ConfigLoader, DockerImageVariablesSetEachRole) {
  const Config c = load({{"MERCURE_PUBLISHER_JWT_KEY", "pub-secret"},
                         {"MERCURE_PUBLISHER_JWT_ALG", "HS384"},
                         {"MERCURE_SUBSCRIBER_JWT_KEY", "sub-secret"},
                         {"MERCURE_SUBSCRIBER_JWT_ALG", "HS512"},
                         {"SERVER_NAME", ":80"}})
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "pub-secret");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS384");
  EXPECT_EQ(c.subscriber_jwt.key, "sub-secret");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS512");
  EXPECT_EQ(c.listen_host, "");
  EXPECT_EQ(c.listen_port, 80);
}

TEST(ConfigLoader, DockerAndLegacyNamesForTheSameRoleMustAgree) {
  const Config same =
      load({{"PUBLISHER_JWT_KEY", "k"}, {"MERCURE_PUBLISHER_JWT_KEY", "k"}, {"SUBSCRIBER_JWT_KEY", "s"}}).config;
  EXPECT_EQ(same.publisher_jwt.key, "k");
  const ConfigError e =
      load_error({{"PUBLISHER_JWT_KEY", "k1"}, {"MERCURE_PUBLISHER_JWT_KEY", "k2"}, {"JWT_KEY", "s"}});
  EXPECT_STREQ(e.what(),
               "conflicting PUBLISHER_JWT_KEY and MERCURE_PUBLISHER_JWT_KEY: set only one of them (or both to the "
               "same value)");
}

TEST(ConfigLoader, EmptyVariablesCountAsUnset) {
  const Config c = load({{"JWT_KEY", "k"}, {"PUBLISHER_JWT_KEY", ""}, {"HEARTBEAT_INTERVAL", ""}, {"ADDR", ""}}).config;
  EXPECT_EQ(c.publisher_jwt.key, "k");
  EXPECT_EQ(c.heartbeat, milliseconds{40'000});
  EXPECT_EQ(c.listen_port, 3000);
}

TEST(ConfigLoader, ServerNameSetsThePortOnAllInterfacesAndAddrWinsOverIt) {
  auto c = load(with(kKeyed, {{"SERVER_NAME", "localhost"}})).config;
  EXPECT_EQ(c.listen_host, "");
  EXPECT_EQ(c.listen_port, 80);
  c = load(with(kKeyed, {{"SERVER_NAME", "example.com:8443"}})).config;
  EXPECT_EQ(c.listen_port, 8443);
  c = load(with(kKeyed, {{"SERVER_NAME", "http://localhost:3001"}})).config;
  EXPECT_EQ(c.listen_port, 3001);
  c = load(with(kKeyed, {{"SERVER_NAME", ":80"}, {"ADDR", "127.0.0.1:5000"}})).config;
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 5000);
  // Caddy's several addresses (API Platform's `localhost, php:80`): served on their one port.
  c = load(with(kKeyed, {{"SERVER_NAME", "localhost, caddy:80"}})).config;
  EXPECT_EQ(c.listen_port, 80);
  EXPECT_EQ(c.site, "localhost");
  EXPECT_EQ(c.acme_domain(), "");
  c = load(with(kKeyed, {{"SERVER_NAME", "http://localhost:3001 http://127.0.0.1:3001"}})).config;
  EXPECT_EQ(c.listen_port, 3001);
  EXPECT_STREQ(load_error(with(kKeyed, {{"SERVER_NAME", "a.example, b.example"}})).what(),
               "invalid SERVER_NAME \"a.example, b.example\": several addresses with a public name are not supported "
               "(its certificate is for one name): give one");
  EXPECT_STREQ(load_error(with(kKeyed, {{"SERVER_NAME", "localhost:3000, localhost:3001"}})).what(),
               "invalid SERVER_NAME \"localhost:3000, localhost:3001\": several addresses on different ports or "
               "schemes are not supported (the hub listens on one port)");
}

TEST(ConfigLoader, TheReferenceImagesOtherVariablesAreReadOrWarnedAbout) {
  // MERCURE_TRANSPORT_URL: the reference's Caddyfile up to v0.16.
  auto loaded = load(with(kKeyed, {{"MERCURE_TRANSPORT_URL", "local://"}}));
  EXPECT_EQ(loaded.config.transport_url, "local://");
  EXPECT_EQ(
      load(with(kKeyed, {{"MERCURE_TRANSPORT_URL", "local://"}, {"TRANSPORT_URL", "lmdb://x"}})).config.transport_url,
      "lmdb://x");
  EXPECT_STREQ(load_error(with(kKeyed, {{"MERCURE_TRANSPORT_URL", "no scheme"}})).what(),
               "invalid MERCURE_TRANSPORT_URL \"no scheme\": not a transport URL (examples: local://, "
               "lmdb:///var/lib/mercure/hub.db, redis://127.0.0.1:6379/0)");
  loaded = load(with(kKeyed, {{"CADDY_SERVER_EXTRA_DIRECTIVES", "basicauth { u p }"}}));
  ASSERT_EQ(loaded.warnings.size(), 1U);
  EXPECT_EQ(loaded.warnings[0].rfind("CADDY_SERVER_EXTRA_DIRECTIVES is set and ignored", 0), 0U) << loaded.warnings[0];
}

TEST(ConfigLoader, APublicServerNameWithoutCertificateFilesTurnsAutomaticHttpsOn) {
  auto c = load(with(kKeyed, {{"SERVER_NAME", "Hub.Example.com"}})).config;
  EXPECT_EQ(c.acme_domain(), "hub.example.com");
  EXPECT_EQ(c.listen_port, 443);
  EXPECT_EQ(c.acme_ca, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(c.acme_dir, "mercure-certificates");
  // Bound to port 80 by ADDR: plain HTTP (a hub behind a proxy that terminates TLS).
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"ADDR", ":80"}})).config.acme_domain(), "");
  // ADDR binds elsewhere; the name still says which certificate to obtain.
  c = load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"},
                         {"ADDR", "127.0.0.1:8443"},
                         {"ACME_EMAIL", "ops@example.com"},
                         {"ACME_CA", "https://ca.test/dir"},
                         {"ACME_CA_ROOT", "/etc/ca.pem"},
                         {"ACME_DIR", "/var/lib/mercure/certs"}}))
          .config;
  EXPECT_EQ(c.acme_domain(), "hub.example.com");
  EXPECT_EQ(c.listen_port, 8443);
  EXPECT_EQ(c.acme_email, "ops@example.com");
  EXPECT_EQ(c.acme_ca, "https://ca.test/dir");
  EXPECT_EQ(c.acme_ca_root, "/etc/ca.pem");
  EXPECT_EQ(c.acme_dir, "/var/lib/mercure/certs");
  // Off: certificate files given, plain http://, a local name, no name.
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"CERT_FILE", "c"}, {"KEY_FILE", "k"}}))
                .config.acme_domain(),
            "");
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "http://hub.example.com"}})).config.acme_domain(), "");
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "localhost"}})).config.acme_domain(), "");
  EXPECT_EQ(load(kKeyed).config.acme_domain(), "");
  // The reference's Docker image: Caddy's global options in GLOBAL_OPTIONS.
  c = load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"},
                         {"GLOBAL_OPTIONS", "email ops@example.com\nacme_ca https://ca.test/staging"}}))
          .config;
  EXPECT_EQ(c.acme_email, "ops@example.com");
  EXPECT_EQ(c.acme_ca, "https://ca.test/staging");
  EXPECT_EQ(c.acme_domain(), "hub.example.com");
  for (const char* off : {"auto_https off", "auto_https disable_certs"}) {
    EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", off}})).config.acme_domain(),
              "")
        << off;
  }
  EXPECT_THROW((void)load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "local_certs"}})),
               ConfigError);
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "auto_https disable_redirects"}}))
                .config.acme_domain(),
            "hub.example.com");
  EXPECT_STREQ(load_error(with(kKeyed, {{"GLOBAL_OPTIONS", "auto_https sometimes"}})).what(),
               "invalid auto_https \"sometimes\" (GLOBAL_OPTIONS line 1): unknown mode (off, disable_certs, "
               "disable_redirects, ignore_loaded_certs, prefer_wildcard)");
  EXPECT_STREQ(load_error(with(kKeyed, {{"ACME_EMAIL", "not an address"}})).what(),
               "invalid ACME_EMAIL \"not an address\": not an email address");
  EXPECT_STREQ(load_error(with(kKeyed, {{"ACME_CA", "ftp://x"}})).what(),
               "invalid ACME_CA \"ftp://x\": not an https:// URL");
}

TEST(ConfigLoader, ASiteServedOverHttpsUnderItsNameRedirectsHttpPortAsCaddyDoes) {
  const auto redirect = [](const Env& env) { return load(with(kKeyed, env)).config.redirect_domain(); };
  // Automatic HTTPS: port 80 redirects (and answers HTTP-01), unless turned off.
  EXPECT_EQ(redirect({{"SERVER_NAME", "Hub.Example.com"}}), "hub.example.com");
  EXPECT_EQ(load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}})).config.http_port, 80);
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com:8443"}}), "hub.example.com");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "auto_https disable_redirects"}}), "");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "auto_https off"}}), "");
  // Certificate files for the name: redirects too, even with the certificates' automation off.
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"}, {"CERT_FILE", "c.pem"}, {"KEY_FILE", "k.pem"}}),
            "hub.example.com");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"},
                      {"CERT_FILE", "c.pem"},
                      {"KEY_FILE", "k.pem"},
                      {"GLOBAL_OPTIONS", "auto_https disable_certs"}}),
            "hub.example.com");
  // No HTTPS: nothing to redirect to.
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "auto_https disable_certs"}}), "");
  EXPECT_EQ(redirect({{"SERVER_NAME", "http://hub.example.com"}}), "");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com:80"}}), "");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com"}, {"ADDR", ":80"}}), "");
  EXPECT_EQ(redirect({{"SERVER_NAME", "localhost"}}), "");
  EXPECT_EQ(redirect({{"ADDR", ":443"}, {"CERT_FILE", "c.pem"}, {"KEY_FILE", "k.pem"}}), "");
  // Caddy's http_port moves it; the HTTPS port itself is never taken twice.
  const Config moved =
      load(with(kKeyed, {{"SERVER_NAME", "hub.example.com"}, {"GLOBAL_OPTIONS", "http_port 8080"}})).config;
  EXPECT_EQ(moved.http_port, 8080);
  EXPECT_EQ(moved.redirect_domain(), "hub.example.com");
  EXPECT_EQ(redirect({{"SERVER_NAME", "hub.example.com:8080"}, {"GLOBAL_OPTIONS", "http_port 8080"}}), "");
  EXPECT_STREQ(load_error(with(kKeyed, {{"GLOBAL_OPTIONS", "http_port 0"}})).what(),
               "invalid http_port \"0\" (GLOBAL_OPTIONS line 1): port out of range (1-65535)");
  EXPECT_STREQ(load_error(with(kKeyed, {{"GLOBAL_OPTIONS", "http_port :80"}})).what(),
               "invalid http_port \":80\" (GLOBAL_OPTIONS line 1): not a port number");
}

TEST(ConfigLoader, CaddysAdminAddressAndServerMetricsOptionsAreRead) {
  EXPECT_EQ(load(kKeyed).config.admin, "localhost:2019");
  EXPECT_EQ(load(with(kKeyed, {{"CADDY_ADMIN", "0.0.0.0:2020"}})).config.admin, "0.0.0.0:2020");
  EXPECT_EQ(load(with(kKeyed, {{"CADDY_ADMIN", "tcp/localhost:2021"}})).config.admin, "localhost:2021");
  EXPECT_EQ(load(with(kKeyed, {{"CADDY_ADMIN", "off"}})).config.admin, "");
  EXPECT_EQ(load(with(kKeyed, {{"GLOBAL_OPTIONS", "admin off"}})).config.admin, "");
  auto loaded = load(with(kKeyed, {{"GLOBAL_OPTIONS", "admin :2019 {\n origins localhost\n}"}}));
  EXPECT_EQ(loaded.config.admin, ":2019");
  EXPECT_EQ(loaded.warnings.size(), 1U);
  // Caddy's address is optional before the block: the default one.
  loaded = load(with(kKeyed, {{"GLOBAL_OPTIONS", "admin {\n origins localhost:2019\n}"}}));
  EXPECT_EQ(loaded.config.admin, "localhost:2019");
  EXPECT_EQ(loaded.warnings.size(), 1U);
  EXPECT_STREQ(load_error(with(kKeyed, {{"CADDY_ADMIN", "unix//run/caddy.sock"}})).what(),
               "invalid CADDY_ADMIN \"unix//run/caddy.sock\": a unix socket is not supported (use host:port or off)");
  // The reference's Helm chart turns metrics on with Caddy's server option.
  EXPECT_FALSE(load(kKeyed).config.metrics_enabled);
  loaded = load(with(kKeyed, {{"GLOBAL_OPTIONS", "servers {\n metrics\n trusted_proxies static private_ranges\n}"}}));
  EXPECT_TRUE(loaded.config.metrics_enabled);
  EXPECT_TRUE(loaded.config.metrics_admin_only) << "as Caddy: on the admin endpoint, not on the public port";
  EXPECT_FALSE(load(with(kKeyed, {{"GLOBAL_OPTIONS", "servers {\n metrics\n}"}, {"METRICS_ENABLED", "1"}}))
                   .config.metrics_admin_only);
  ASSERT_EQ(loaded.warnings.size(), 1U);
  EXPECT_NE(loaded.warnings[0].find("server option \"trusted_proxies\" ignored"), std::string::npos);
}

TEST(ConfigLoader, ListsFromTheEnvironmentMayUseSpacesAndCommas) {
  const Config c = load(with(kKeyed, {{"CORS_ALLOWED_ORIGINS", " https://a.example,https://b.example  http://c:8080 "},
                                      {"PUBLISH_ALLOWED_ORIGINS", "*"}}))
                       .config;
  EXPECT_EQ(c.cors_origins, (Strings{"https://a.example", "https://b.example", "http://c:8080"}));
  EXPECT_EQ(c.publish_origins, (Strings{"*"}));
}

TEST(ConfigLoader, PemKeysFromTheEnvironmentMayBeOnOneLineWithEscapes) {
  const auto cases = jwt_test::load_jwt_cases();
  const std::string pem = jwt_test::str(cases.keys.at("ES256").as_object().at("public_pem"));
  const Config c = load({{"PUBLISHER_JWT_KEY", one_line_pem(pem)},
                         {"PUBLISHER_JWT_ALGORITHM", "ES256"},
                         {"SUBSCRIBER_JWT_KEY", pem},
                         {"SUBSCRIBER_JWT_ALGORITHM", "ES256"}})
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, pem);
  EXPECT_EQ(c.subscriber_jwt.key, pem);
}

TEST(ConfigLoader, ExtraDirectivesApplyAtEnvironmentRankOverTheOtherVariables) {
  const Config c = load(with(kKeyed, {{"HEARTBEAT_INTERVAL", "10s"},
                                      {"MERCURE_EXTRA_DIRECTIVES",
                                       "anonymous\nheartbeat 20s\ncors_origins https://a.example https://b.example\n"
                                       "transport lmdb {\n  path /data/hub.db\n  size 1000\n}\n"}}))
                       .config;
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.heartbeat, milliseconds{20'000});
  EXPECT_EQ(c.cors_origins, (Strings{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.transport_url, "lmdb:///data/hub.db?size=1000");

  // Above the file, below the flags.
  const Config over_file =
      load(with(kKeyed, {{"MERCURE_EXTRA_DIRECTIVES", "write_timeout 30s"}}), {}, "mercure {\n write_timeout 10s\n}\n")
          .config;
  EXPECT_EQ(over_file.write_timeout, milliseconds{30'000});
  const Config under_flag =
      load(with(kKeyed, {{"MERCURE_EXTRA_DIRECTIVES", "write_timeout 30s"}}), {"--write-timeout", "5s"}).config;
  EXPECT_EQ(under_flag.write_timeout, milliseconds{5'000});
}

TEST(ConfigLoader, ExtraDirectiveErrorsNameTheVariableAndLine) {
  const ConfigError e = load_error(with(kKeyed, {{"MERCURE_EXTRA_DIRECTIVES", "anonymous\nbogus 1\n"}}));
  EXPECT_STREQ(e.what(), "MERCURE_EXTRA_DIRECTIVES line 2: unknown directive \"bogus\" in the mercure block");
  EXPECT_EQ(e.setting(), "bogus");
}

// ----- flags -------------------------------------------------------------------------------------

TEST(ConfigLoader, EveryFlagIsRead) {
  const Config c = load({}, {"--jwt-key",
                             "both",
                             "--jwt-algorithm",
                             "HS384",
                             "--addr",
                             "[::1]:7000",
                             "--workers",
                             "2",
                             "--allow-anonymous",
                             "--subscriptions",
                             "--cors-allowed-origins",
                             "https://a.example",
                             "--cors-origins",
                             "https://b.example,https://c.example",
                             "--publish-allowed-origins",
                             "https://p.example",
                             "--cookie-name",
                             "myHubCookie",
                             "--heartbeat-interval",
                             "1s",
                             "--write-timeout",
                             "2s",
                             "--dispatch-timeout",
                             "3s",
                             "--read-timeout",
                             "4s",
                             "--transport-url",
                             "local://",
                             "--ui",
                             "--demo",
                             "--debug",
                             "--log-format",
                             "JSON",
                             "--use-forwarded-headers",
                             "--metrics-enabled",
                             "--metrics-addr",
                             "127.0.0.1:9999",
                             "--cert-file",
                             "c.pem",
                             "--key-file",
                             "k.pem"})
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "both");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS384");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 7000);
  EXPECT_EQ(c.workers, 2U);
  EXPECT_TRUE(c.anonymous);
  EXPECT_TRUE(c.subscriptions);
  EXPECT_EQ(c.cors_origins, (Strings{"https://a.example", "https://b.example", "https://c.example"}));
  EXPECT_EQ(c.publish_origins, (Strings{"https://p.example"}));
  EXPECT_EQ(c.cookie_name, "myHubCookie");
  EXPECT_EQ(c.heartbeat, milliseconds{1'000});
  EXPECT_EQ(c.write_timeout, milliseconds{2'000});
  EXPECT_EQ(c.dispatch_timeout, milliseconds{3'000});
  EXPECT_EQ(c.read_timeout, milliseconds{4'000});
  EXPECT_TRUE(c.ui && c.demo && c.debug && c.use_forwarded_headers && c.metrics_enabled);
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.metrics_addr, "127.0.0.1:9999");
  EXPECT_EQ(c.cert_file, "c.pem");
  EXPECT_EQ(c.key_file, "k.pem");
}

TEST(ConfigLoader, BooleanFlagsAcceptAnExplicitValue) {
  EXPECT_FALSE(load(with(kKeyed, {{"ALLOW_ANONYMOUS", "1"}}), {"--allow-anonymous=false"}).config.anonymous);
  EXPECT_TRUE(load(kKeyed, {"--anonymous=yes"}).config.anonymous);
  EXPECT_STREQ(load_error(kKeyed, {"--anonymous=maybe"}).what(),
               "invalid --allow-anonymous \"maybe\": not a boolean (use true/false, 1/0, yes/no or on/off)");
}

TEST(ConfigLoader, RoleSpecificFlagsBeatJwtKeyWhateverTheirOrder) {
  const Config c =
      load({}, {"--publisher-jwt-key", "pub", "--jwt-key", "both", "--subscriber-jwt-algorithm", "HS512"}).config;
  EXPECT_EQ(c.publisher_jwt.key, "pub");
  EXPECT_EQ(c.subscriber_jwt.key, "both");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS512");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS256");
}

TEST(ConfigLoader, ARepeatedFlagKeepsItsLastValue) {
  EXPECT_EQ(load(kKeyed, {"--heartbeat", "1s", "--heartbeat-interval", "2s"}).config.heartbeat, milliseconds{2'000});
}

// ----- precedence --------------------------------------------------------------------------------

TEST(ConfigLoader, FlagsBeatEnvironmentWhichBeatsTheFileWhichBeatsDefaults) {
  const std::string file =
      "mercure {\n  publisher_jwt file-key\n  subscriber_jwt file-key\n  heartbeat 10s\n"
      "  cors_origins https://file.example\n  anonymous\n}\n";
  const Env env = {{"HEARTBEAT_INTERVAL", "20s"},
                   {"CORS_ALLOWED_ORIGINS", "https://env.example"},
                   {"ALLOW_ANONYMOUS", "0"},
                   {"PUBLISHER_JWT_KEY", "env-key"}};
  const Strings flags = {"--heartbeat",         "30s",     "--cors-origins", "https://flag.example", "--anonymous",
                         "--publisher-jwt-key", "flag-key"};

  Config c = load(env, flags, file).config;
  EXPECT_EQ(c.heartbeat, milliseconds{30'000});
  EXPECT_EQ(c.cors_origins, Strings{"https://flag.example"});
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.publisher_jwt.key, "flag-key");

  c = load(env, {}, file).config;
  EXPECT_EQ(c.heartbeat, milliseconds{20'000});
  EXPECT_EQ(c.cors_origins, Strings{"https://env.example"});
  EXPECT_FALSE(c.anonymous);
  EXPECT_EQ(c.publisher_jwt.key, "env-key");
  EXPECT_EQ(c.subscriber_jwt.key, "file-key");

  c = load({}, {}, file).config;
  EXPECT_EQ(c.heartbeat, milliseconds{10'000});
  EXPECT_EQ(c.cors_origins, Strings{"https://file.example"});
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.publisher_jwt.key, "file-key");

  c = load(kKeyed).config;
  EXPECT_EQ(c.heartbeat, milliseconds{40'000});
  EXPECT_TRUE(c.cors_origins.empty());
  EXPECT_FALSE(c.anonymous);
}

TEST(ConfigLoader, AGeneralVariableStillBeatsARoleSpecificDirectiveOfTheFile) {
  // Layers first, names second: JWT_KEY (environment) is above publisher_jwt (file).
  const Config c = load({{"JWT_KEY", "env-key"}}, {}, "mercure {\n publisher_jwt file-key\n}\n").config;
  EXPECT_EQ(c.publisher_jwt.key, "env-key");
}

TEST(ConfigLoader, DevModeChangesOnlyTheDefaults) {
  Config c = load({}, {"--dev"}).config;
  EXPECT_TRUE(c.dev);
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.cors_origins, Strings{"*"});
  EXPECT_TRUE(c.ui);
  EXPECT_EQ(c.publisher_jwt.key, kDevJwtKey);
  EXPECT_EQ(c.subscriber_jwt.key, kDevJwtKey);

  c = load({{"ALLOW_ANONYMOUS", "0"}, {"PUBLISHER_JWT_KEY", "mine"}, {"CORS_ALLOWED_ORIGINS", "https://a.example"}},
           {"--dev"})
          .config;
  EXPECT_FALSE(c.anonymous);
  EXPECT_EQ(c.publisher_jwt.key, "mine");
  EXPECT_EQ(c.subscriber_jwt.key, kDevJwtKey);
  EXPECT_EQ(c.cors_origins, Strings{"https://a.example"});
}

}  // namespace
}  // namespace mercure
