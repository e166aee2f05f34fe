#include "app/config_loader.hpp"

#include "../core/jwt_cases.hpp"
#include "config_loading.hpp"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace mercure {
namespace {

using namespace config_test;  // NOLINT(google-build-using-namespace): the tests' own helpers
using std::chrono::milliseconds;

// ----- file --------------------------------------------------------------------------------------

TEST(ConfigFileLayer, FileReadsTheMercureBlockOfASiteBlock) {
  const std::string file = R"(# global options
{
	debug
}

localhost:4444 {
	encode zstd gzip
	log {
		format json
	}

	mercure {
		# keys
		publisher_jwt "pub secret with spaces" HS384
		subscriber_jwt {env.SUB_KEY} {env.SUB_ALG}
		anonymous
		subscriptions false
		cors_origins https://a.example "https://b.example"
		publish_origins *
		cookie_name hubCookie
		heartbeat 15s # trailing comment
		write_timeout 0s
		dispatch_timeout 1s
		read_timeout {$READ:3s}
		ui
		demo true
		transport bolt {
			path /var/run/mercure.db
			size 100
			cleanup_frequency 0.4
		}
	}

	respond "Not Found" 404
}

example.com {
	respond "elsewhere"
}
)";
  const Loaded loaded = load({{"SUB_KEY", "sub-from-env"}}, {}, file);
  const Config& c = loaded.config;
  EXPECT_EQ(c.listen_host, "");
  EXPECT_EQ(c.listen_port, 4444);
  EXPECT_EQ(c.publisher_jwt.key, "pub secret with spaces");
  EXPECT_EQ(c.publisher_jwt.algorithm, "HS384");
  EXPECT_EQ(c.subscriber_jwt.key, "sub-from-env");
  EXPECT_EQ(c.subscriber_jwt.algorithm, "HS256");  // {env.SUB_ALG} is empty: the default
  EXPECT_TRUE(c.anonymous);
  EXPECT_FALSE(c.subscriptions);
  EXPECT_EQ(c.cors_origins, (Strings{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.publish_origins, Strings{"*"});
  EXPECT_EQ(c.cookie_name, "hubCookie");
  EXPECT_EQ(c.heartbeat, milliseconds{15'000});
  EXPECT_EQ(c.write_timeout, milliseconds{0});
  EXPECT_EQ(c.dispatch_timeout, milliseconds{1'000});
  EXPECT_EQ(c.read_timeout, milliseconds{3'000});
  EXPECT_TRUE(c.ui);
  EXPECT_TRUE(c.demo);
  EXPECT_FALSE(c.debug);  // global options are not read
  EXPECT_EQ(c.transport_url, "bolt:///var/run/mercure.db?size=100&cleanup_frequency=0.4");

  const Strings expected_warnings = {
      "hub.conf line 7: directive \"encode\" ignored (only the mercure block is read)",
      "hub.conf line 8: directive \"log\" ignored (only the mercure block is read)",
      "hub.conf line 34: directive \"respond\" ignored (only the mercure block is read)",
      "hub.conf line 37: site block \"example.com\" ignored (it has no mercure block)",
      "hub.conf line 3: global option \"debug\" ignored",
  };
  EXPECT_EQ(loaded.warnings, expected_warnings);
}

TEST(ConfigFileLayer, FileMayHoldAMercureBlockAlone) {
  const Config c = load({}, {}, "mercure {\n\tpublisher_jwt k\n\tanonymous\n\taddr 127.0.0.1:0\n}\n").config;
  EXPECT_EQ(c.publisher_jwt.key, "k");
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(ConfigFileLayer, FileFindsAMercureBlockNestedInARoute) {
  const Config c =
      load({}, {}, "http://localhost:3005 {\n route {\n  mercure {\n   publisher_jwt k\n   anonymous\n  }\n }\n}\n")
          .config;
  EXPECT_EQ(c.listen_port, 3005);
  EXPECT_EQ(c.publisher_jwt.key, "k");
}

TEST(ConfigFileLayer, FileOwnSettingsHaveDirectivesToo) {
  const Config c = load({}, {},
                        "mercure {\n publisher_jwt k\n anonymous\n workers 4\n log_format json\n debug\n"
                        " use_forwarded_headers\n metrics_enabled\n metrics_addr 127.0.0.1:9100\n"
                        " cert_file /c.pem\n key_file /k.pem\n transport_url local://\n}\n")
                       .config;
  EXPECT_EQ(c.workers, 4U);
  EXPECT_EQ(c.log_format, "json");
  EXPECT_TRUE(c.debug && c.use_forwarded_headers && c.metrics_enabled);
  EXPECT_EQ(c.metrics_addr, "127.0.0.1:9100");
  EXPECT_EQ(c.cert_file, "/c.pem");
  EXPECT_EQ(c.key_file, "/k.pem");
  EXPECT_EQ(c.transport_url, "local://");
}

TEST(ConfigFileLayer, BatchedSendsAreOnByDefaultAndEachLayerCanTurnThemOff) {
  EXPECT_TRUE(load(kKeyed).config.io_uring);
  EXPECT_FALSE(load(with(kKeyed, {{"IO_URING", "false"}})).config.io_uring);
  EXPECT_FALSE(load(kKeyed, {"--io-uring=false"}).config.io_uring);
  EXPECT_FALSE(load(kKeyed, {}, "mercure {\n io_uring false\n}\n").config.io_uring);
  EXPECT_TRUE(load(with(kKeyed, {{"IO_URING", "true"}}), {}, "mercure {\n io_uring false\n}\n").config.io_uring);
}

TEST(ConfigFileLayer, FileAcceptsAMultiLinePemInQuotes) {
  const auto cases = jwt_test::load_jwt_cases();
  const std::string pem = jwt_test::str(cases.keys.at("EdDSA").as_object().at("public_pem"));
  const Config c =
      load({}, {}, "mercure {\n publisher_jwt \"" + pem + "\" EdDSA\n subscriber_jwt `" + pem + "` EdDSA\n}\n").config;
  EXPECT_EQ(c.publisher_jwt.key, pem);
  EXPECT_EQ(c.publisher_jwt.algorithm, "EdDSA");
  EXPECT_EQ(c.subscriber_jwt.key, pem);
}

TEST(ConfigFileLayer, FilePlaceholdersComeFromTheGivenEnvironment) {
  const Config c = load({{"PUB", "from-env"}, {"HB", "7s"}}, {},
                        "{$SITE:localhost:3210} {\n mercure {\n  publisher_jwt {env.PUB}\n  heartbeat {$HB}\n"
                        "  anonymous\n }\n}\n")
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "from-env");
  EXPECT_EQ(c.heartbeat, milliseconds{7'000});
  EXPECT_EQ(c.listen_port, 3210);
}

TEST(ConfigFileLayer, FileTransportBlocksBecomeUrls) {
  auto url = [](const std::string& block) {
    return load({}, {}, "mercure {\n publisher_jwt k\n anonymous\n " + block + "\n}\n").config.transport_url;
  };
  EXPECT_EQ(url("transport local"), "local://");
  EXPECT_EQ(url("transport lmdb {\n path relative.db\n }"), "lmdb://relative.db");
  EXPECT_EQ(url("transport lmdb {\n path \"/with space/h.db\"\n size 10\n }"), "lmdb:///with%20space/h.db?size=10");
  EXPECT_EQ(url("transport redis {\n address \"a&b=c\"\n }"), "redis://?address=a%26b%3Dc");
  // A redis block's `url` is the server; the other options become its parameters.
  EXPECT_EQ(url("transport redis {\n url redis://cache:6380/2\n stream hub\n size 500\n }"),
            "redis://cache:6380/2?stream=hub&size=500");
  EXPECT_EQ(url("transport redis {\n url redis://cache/0?max_batch=8\n stream hub\n }"),
            "redis://cache/0?max_batch=8&stream=hub");
  EXPECT_EQ(url("transport redis {\n url redis://cache\n }"), "redis://cache");
  // TLS: a rediss:// url in a redis block (or a rediss block), its files as options.
  EXPECT_EQ(url("transport redis {\n url rediss://cache:6380\n tls_ca_file /etc/ca.pem\n }"),
            "rediss://cache:6380?tls_ca_file=%2Fetc%2Fca.pem");
  EXPECT_EQ(url("transport rediss {\n url rediss://cache\n }"), "rediss://cache");
}

TEST(ConfigFileLayer, FileRedisBlockUrlMustBeRedis) {
  const ConfigError e =
      load_error({}, {}, "mercure {\n publisher_jwt k\n transport redis {\n  url http://cache\n }\n}\n");
  EXPECT_STREQ(e.what(), "hub.conf line 4: the url of a redis transport starts with redis:// or rediss://");
}

TEST(ConfigFileLayer, FileUnknownDirectiveInsideTheBlockIsAnErrorNamingItAndItsLine) {
  const ConfigError e = load_error({}, {}, "localhost {\n  mercure {\n    publisher_jwt k\n    hartbeat 10s\n  }\n}\n");
  EXPECT_STREQ(e.what(), "hub.conf line 4: unknown directive \"hartbeat\" in the mercure block");
  EXPECT_EQ(e.setting(), "hartbeat");
}

TEST(ConfigFileLayer, FileStructureErrorsNameTheLine) {
  EXPECT_STREQ(load_error({}, {}, "mercure {\n publisher_jwt k\n").what(),
               "hub.conf line 1: the block opened here has no closing '}'");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n publisher_jwt \"k\n}\n").what(),
               "hub.conf line 2: unterminated quoted string");
  EXPECT_STREQ(load_error({}, {}, "}\n").what(), "hub.conf line 1: '}' without a matching '{'");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n}\nother {\n mercure {\n }\n}\n").what(),
               "hub.conf lines 1 and 4: more than one mercure block; this hub serves one");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n heartbeat\n}\n").what(),
               "hub.conf line 2: heartbeat takes exactly one value");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n cors_origins\n}\n").what(),
               "hub.conf line 2: cors_origins needs at least one value");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n publisher_jwt_key k\n}\n").what(),
               "hub.conf line 2: unknown directive \"publisher_jwt_key\" in the mercure block");
  EXPECT_STREQ(load_error({}, {}, "mercure {\n publisher_jwks_url https://a/jwks https://b/jwks\n}\n").what(),
               "hub.conf line 2: publisher_jwks_url takes exactly one value");
}

TEST(ConfigFileLayer, FileValueErrorsNameTheDirectiveValueAndLine) {
  const ConfigError e = load_error(kKeyed, {}, "mercure {\n  anonymous\n  heartbeat 4x\n}\n");
  EXPECT_STREQ(e.what(),
               "invalid heartbeat \"4x\" (hub.conf line 3): not a duration: unknown unit \"x\" (units: ns, us, ms, s, "
               "m, h, d; examples: 40s, 500ms)");
  EXPECT_EQ(e.setting(), "heartbeat");
}

TEST(ConfigFileLayer, FileReferenceTuningDirectivesAreIgnoredWithAWarning) {
  const Loaded loaded = load(kKeyed, {}, "mercure {\n topic_selector_cache 10000 256\n}\n");
  EXPECT_EQ(loaded.warnings,
            Strings{"hub.conf line 2: directive \"topic_selector_cache\" is not needed by this hub and is ignored"});
  // What the reference's compatibility mode did, and what this hub does instead.
  const Loaded compat = load(kKeyed, {}, "mercure {\n protocol_version_compatibility 7\n}\n");
  EXPECT_EQ(compat.warnings,
            Strings{"hub.conf line 2: directive \"protocol_version_compatibility\" is not needed by this hub and is "
                    "ignored (the older drafts' Last-Event-ID query parameter is always read; publishing without "
                    "topics in mercure.publish is refused)"});
}

TEST(ConfigFileLayer, FileSiteTlsWithFilesSetsTheCertificateOtherFormsWarn) {
  Loaded loaded = load(kKeyed, {}, "example.com:8443 {\n tls /etc/c.pem /etc/k.pem\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.cert_file, "/etc/c.pem");
  EXPECT_EQ(loaded.config.key_file, "/etc/k.pem");
  EXPECT_EQ(loaded.config.listen_port, 8443);
  EXPECT_TRUE(loaded.warnings.empty());

  // Caddy's `tls <email>`: the certificate is obtained (ACME), with that account contact.
  loaded = load(kKeyed, {}, "example.com {\n tls admin@example.com\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.cert_file, "");
  EXPECT_EQ(loaded.config.acme_email, "admin@example.com");
  EXPECT_EQ(loaded.config.acme_domain(), "example.com");
  EXPECT_EQ(loaded.config.listen_port, 443);
  EXPECT_TRUE(loaded.warnings.empty());

  loaded = load(kKeyed, {}, "example.com {\n tls {\n  protocols tls1.3\n }\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.warnings, Strings{"hub.conf line 2: directive \"tls\" ignored: give the files (tls <cert_file> "
                                     "<key_file>) or an email address for the ACME account (tls <email>)"});
  // Caddy's local CA: neither a public CA's certificate nor plain HTTP in its place.
  EXPECT_THROW((void)load(kKeyed, {}, "example.com {\n tls internal\n mercure {\n }\n}\n"), ConfigError);
}

TEST(ConfigFileLayer, GlobalOptionsOfAutomaticHttpsAreRead) {
  Loaded loaded = load(kKeyed, {},
                       "{\n email ops@example.com\n acme_ca https://ca.test/dir\n acme_ca_root /etc/ca.pem\n"
                       " admin off\n debug\n}\nexample.com {\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.acme_email, "ops@example.com");
  EXPECT_EQ(loaded.config.acme_ca, "https://ca.test/dir");
  EXPECT_EQ(loaded.config.acme_ca_root, "/etc/ca.pem");
  EXPECT_EQ(loaded.config.acme_domain(), "example.com");
  EXPECT_EQ(loaded.config.admin, "");
  EXPECT_EQ(loaded.warnings, Strings{"hub.conf line 6: global option \"debug\" ignored"});
  loaded = load(kKeyed, {}, "{\n auto_https off\n}\nexample.com {\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.acme_domain(), "");
}

TEST(ConfigFileLayer, SiteAddressNamesTheDomainOfAutomaticHttps) {
  Loaded loaded = load(kKeyed, {}, "Hub.Example.com {\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.acme_domain(), "hub.example.com");
  EXPECT_EQ(loaded.config.listen_port, 443);
  loaded = load(kKeyed, {}, "http://hub.example.com {\n mercure {\n }\n}\n");
  EXPECT_EQ(loaded.config.acme_domain(), "");
  EXPECT_EQ(loaded.config.listen_port, 80);
  // `site` is no directive of the mercure block.
  EXPECT_THROW((void)load(kKeyed, {}, "mercure {\n site example.com\n}\n"), ConfigError);
}

TEST(ConfigFileLayer, TheEnvironmentOverridingTheFileIsWarnedAboutAndMercureTransportUrlYieldsToIt) {
  const std::string file =
      "mercure {\n publisher_jwt file-key\n transport_url lmdb:///data/hub.lmdb\n heartbeat 20s\n anonymous\n}\n";
  Loaded loaded = load({{"MERCURE_PUBLISHER_JWT_KEY", "env-key"},
                        {"MERCURE_TRANSPORT_URL", "bolt:///other.db"},
                        {"HEARTBEAT_INTERVAL", "20s"}},
                       {}, file);
  EXPECT_EQ(loaded.config.publisher_jwt.key, "env-key");  // flags > environment > file
  // The reference's deprecated variable is read only when the file sets no transport.
  EXPECT_EQ(loaded.config.transport_url, "lmdb:///data/hub.lmdb");
  EXPECT_EQ(loaded.warnings,
            (Strings{"hub.conf line 2: publisher_jwt is overridden by MERCURE_PUBLISHER_JWT_KEY (the environment wins "
                     "over the file)",
                     "MERCURE_TRANSPORT_URL ignored: hub.conf line 3 sets the transport"}));
  for (const auto& w : loaded.warnings) EXPECT_EQ(w.find("-key"), std::string::npos) << "a key in " << w;
  // The same value twice is no news; TRANSPORT_URL (the legacy name) still wins.
  loaded = load({{"TRANSPORT_URL", "local://"}, {"PUBLISHER_JWT_KEY", "file-key"}}, {}, file);
  EXPECT_EQ(loaded.config.transport_url, "local://");
  EXPECT_EQ(loaded.warnings, (Strings{"hub.conf line 3: transport_url is overridden by TRANSPORT_URL (the environment "
                                      "wins over the file)"}));
}

TEST(ConfigFileLayer, ASiteOfSeveralAddressesOnOnePortIsServedThere) {
  const Loaded loaded = load(kKeyed, {}, "localhost:3001, 127.0.0.1:3001 {\n mercure {\n  anonymous\n }\n}\n");
  EXPECT_EQ(loaded.config.listen_port, 3001);
  EXPECT_EQ(loaded.config.site, "localhost:3001");
  EXPECT_TRUE(loaded.config.anonymous);
  EXPECT_THROW((void)load(kKeyed, {}, "localhost:3001, localhost:3002 {\n mercure {\n }\n}\n"), ConfigError);
}

TEST(ConfigFileLayer, ASingleSiteWithoutBracesIsThatSite) {
  // The reference's own Caddyfile up to v0.15, with its address written out.
  Loaded loaded = load(kKeyed, {},
                       "{\n email ops@example.com\n}\n\nhub.example.com\n\nlog {\n output stdout\n}\n\n"
                       "route {\n encode zstd gzip\n mercure {\n  publisher_jwt file-key\n  anonymous\n }\n}\n");
  EXPECT_EQ(loaded.config.acme_domain(), "hub.example.com");
  EXPECT_EQ(loaded.config.listen_port, 443);
  EXPECT_EQ(loaded.config.acme_email, "ops@example.com");
  EXPECT_TRUE(loaded.config.anonymous);
  loaded = load(kKeyed, {}, ":3001\nroute {\n mercure {\n  anonymous\n }\n}\n");
  EXPECT_EQ(loaded.config.listen_port, 3001);
  EXPECT_TRUE(loaded.config.anonymous);
  EXPECT_EQ(loaded.warnings.front(),
            "hub.conf line 1: \":3001\" read as the address of a site without braces (the rest of the file is its "
            "body)");
  // A braced file, a mercure block alone, or a directive of Caddy's before them, is read as before.
  loaded = load(kKeyed, {}, "mercure {\n anonymous\n}\n");
  EXPECT_TRUE(loaded.config.anonymous);
  EXPECT_EQ(loaded.config.listen_port, 3000);
  for (const char* first : {"log", "encode zstd gzip", "skip_log /healthz", "whatever"}) {
    loaded = load(kKeyed, {}, std::string(first) + "\nmercure {\n anonymous\n}\n");
    EXPECT_TRUE(loaded.config.anonymous) << first;
    EXPECT_EQ(loaded.config.listen_port, 3000) << first;
    loaded = load(kKeyed, {}, std::string(first) + "\nexample.com:8443 {\n mercure {\n  anonymous\n }\n}\n");
    EXPECT_EQ(loaded.config.listen_port, 8443) << first;
  }
}

TEST(ConfigFileLayer, ImportPastesSnippetsAndFilesAsCaddyDoes) {
  const std::string dir = ::testing::TempDir() + "/config_import_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/conf.d");
  std::ofstream(dir + "/conf.d/a.caddy") << "hub.example.com:8443 {\n mercure {\n  import common 21s\n }\n}\n";
  std::ofstream(dir + "/conf.d/b.txt") << "not matched by the glob\n";
  std::ofstream(dir + "/jwt.caddy") << "publisher_jwt imported-key\n";
  const std::string main = dir + "/Caddyfile";
  std::ofstream(main) << "(common) {\n anonymous\n heartbeat {args[0]}\n import jwt.caddy\n}\nimport conf.d/*.caddy\n";

  ConfigLoader loader({});  // no key in the environment: the file's (imported) one is used
  loader.use_file(main);
  const Config c = loader.load();
  EXPECT_EQ(c.listen_port, 8443);
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.heartbeat, milliseconds(21'000));
  EXPECT_EQ(c.publisher_jwt.key, "imported-key");

  // A plain path that is no file, and a file that imports itself.
  std::ofstream(main) << "mercure {\n import missing.caddy\n}\n";
  ConfigLoader missing(kKeyed);
  missing.use_file(main);
  try {
    (void)missing.load();
    FAIL() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: \"missing.caddy\" is neither a snippet nor a file"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(main) << "import Caddyfile\nmercure {\n}\n";
  ConfigLoader cycle(kKeyed);
  cycle.use_file(main);
  EXPECT_THROW((void)cycle.load(), ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(ConfigFileLayer, AFileWithoutAMercureBlockStopsTheHub) {
  try {
    (void)load(kKeyed, {}, "# nothing\n{\n email ops@example.com\n}\nlocalhost {\n respond ok\n}\n");
    FAIL() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "hub.conf: no mercure block found (the settings are read from a mercure { } block)");
  }
}

TEST(ConfigFileLayer, DirectivesOfOlderReferenceVersionsAreIgnoredWithAWarning) {
  const Loaded loaded = load(kKeyed, {}, "mercure {\n lru_cache 100\n cache 10 100\n anonymous\n}\n");
  EXPECT_TRUE(loaded.config.anonymous);
  EXPECT_EQ(loaded.warnings,
            (Strings{"hub.conf line 2: directive \"lru_cache\" is not needed by this hub and is ignored",
                     "hub.conf line 3: directive \"cache\" is not needed by this hub and is ignored"}));
}

TEST(ConfigFileLayer, ConfigFlagReadsTheNamedFile) {
  const std::string path = ::testing::TempDir() + "/config_loader_test_hub.conf";
  {
    std::ofstream out(path);
    out << "mercure {\n  publisher_jwt file-key\n  anonymous\n  heartbeat 12s\n}\n";
  }
  const Config c = load({}, {"--config", path}).config;
  EXPECT_EQ(c.publisher_jwt.key, "file-key");
  EXPECT_EQ(c.heartbeat, milliseconds{12'000});
  std::remove(path.c_str());

  const ConfigError e = load_error(kKeyed, {"--config", path});
  EXPECT_EQ(e.setting(), "--config");
  EXPECT_EQ(std::string(e.what()), "invalid --config \"" + path + "\": cannot read the file");
}

}  // namespace
}  // namespace mercure
