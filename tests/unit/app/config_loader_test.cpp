#include "app/config_loader.hpp"

#include "../core/jwt_cases.hpp"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mercure {
namespace {

using Env = std::map<std::string, std::string>;
using Strings = std::vector<std::string>;
using std::chrono::milliseconds;

struct Loaded {
  Config config;
  Strings warnings;
};

// Loads a configuration as `mercure-hub <args>` would with environment `env` and, when given,
// a --config file whose content is `file` (named hub.conf in messages).
Loaded load(const Env& env, Strings args = {}, const std::optional<std::string>& file = std::nullopt) {
  ConfigLoader loader(env);
  CLI::App app;
  loader.add_flags(app);
  args.insert(args.begin(), "mercure-hub");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  if (file) loader.use_file_text(*file, "hub.conf");
  Config config = loader.load();
  return {config, loader.warnings()};
}

ConfigError load_error(const Env& env, const Strings& args = {},
                       const std::optional<std::string>& file = std::nullopt) {
  try {
    (void)load(env, args, file);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError";
  return ConfigError("", "no error");
}

const Env kKeyed = {{"JWT_KEY", "test-secret"}};

Env with(Env env, const Env& more) {
  for (const auto& [k, v] : more) env[k] = v;
  return env;
}

std::string one_line_pem(std::string pem) {
  std::string out;
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

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
  EXPECT_STREQ(load_error(with(kKeyed, {{"SERVER_NAME", "a.example, b.example"}})).what(),
               "invalid SERVER_NAME \"a.example, b.example\": several addresses are not supported; give one");
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

// ----- file --------------------------------------------------------------------------------------

TEST(ConfigLoader, FileReadsTheMercureBlockOfASiteBlock) {
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
      "hub.conf line 2: global options block ignored",
      "hub.conf line 7: directive \"encode\" ignored (only the mercure block is read)",
      "hub.conf line 8: directive \"log\" ignored (only the mercure block is read)",
      "hub.conf line 34: directive \"respond\" ignored (only the mercure block is read)",
      "hub.conf line 37: site block \"example.com\" ignored (it has no mercure block)",
  };
  EXPECT_EQ(loaded.warnings, expected_warnings);
}

TEST(ConfigLoader, FileMayHoldAMercureBlockAlone) {
  const Config c = load({}, {}, "mercure {\n\tpublisher_jwt k\n\tanonymous\n\taddr 127.0.0.1:0\n}\n").config;
  EXPECT_EQ(c.publisher_jwt.key, "k");
  EXPECT_TRUE(c.anonymous);
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(ConfigLoader, FileFindsAMercureBlockNestedInARoute) {
  const Config c =
      load({}, {}, "http://localhost:3005 {\n route {\n  mercure {\n   publisher_jwt k\n   anonymous\n  }\n }\n}\n")
          .config;
  EXPECT_EQ(c.listen_port, 3005);
  EXPECT_EQ(c.publisher_jwt.key, "k");
}

TEST(ConfigLoader, FileOwnSettingsHaveDirectivesToo) {
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

TEST(ConfigLoader, BatchedSendsAreOnByDefaultAndEachLayerCanTurnThemOff) {
  EXPECT_TRUE(load(kKeyed).config.io_uring);
  EXPECT_FALSE(load(with(kKeyed, {{"IO_URING", "false"}})).config.io_uring);
  EXPECT_FALSE(load(kKeyed, {"--io-uring=false"}).config.io_uring);
  EXPECT_FALSE(load(kKeyed, {}, "mercure {\n io_uring false\n}\n").config.io_uring);
  EXPECT_TRUE(load(with(kKeyed, {{"IO_URING", "true"}}), {}, "mercure {\n io_uring false\n}\n").config.io_uring);
}

TEST(ConfigLoader, FileAcceptsAMultiLinePemInQuotes) {
  const auto cases = jwt_test::load_jwt_cases();
  const std::string pem = jwt_test::str(cases.keys.at("EdDSA").as_object().at("public_pem"));
  const Config c =
      load({}, {}, "mercure {\n publisher_jwt \"" + pem + "\" EdDSA\n subscriber_jwt `" + pem + "` EdDSA\n}\n").config;
  EXPECT_EQ(c.publisher_jwt.key, pem);
  EXPECT_EQ(c.publisher_jwt.algorithm, "EdDSA");
  EXPECT_EQ(c.subscriber_jwt.key, pem);
}

TEST(ConfigLoader, FilePlaceholdersComeFromTheGivenEnvironment) {
  const Config c = load({{"PUB", "from-env"}, {"HB", "7s"}}, {},
                        "{$SITE:localhost:3210} {\n mercure {\n  publisher_jwt {env.PUB}\n  heartbeat {$HB}\n"
                        "  anonymous\n }\n}\n")
                       .config;
  EXPECT_EQ(c.publisher_jwt.key, "from-env");
  EXPECT_EQ(c.heartbeat, milliseconds{7'000});
  EXPECT_EQ(c.listen_port, 3210);
}

TEST(ConfigLoader, FileTransportBlocksBecomeUrls) {
  auto url = [](const std::string& block) {
    return load({}, {}, "mercure {\n publisher_jwt k\n anonymous\n " + block + "\n}\n").config.transport_url;
  };
  EXPECT_EQ(url("transport local"), "local://");
  EXPECT_EQ(url("transport lmdb {\n path relative.db\n }"), "lmdb://relative.db");
  EXPECT_EQ(url("transport lmdb {\n path \"/with space/h.db\"\n size 10\n }"), "lmdb:///with%20space/h.db?size=10");
  EXPECT_EQ(url("transport redis {\n address \"a&b=c\"\n }"), "redis://?address=a%26b%3Dc");
}

TEST(ConfigLoader, FileUnknownDirectiveInsideTheBlockIsAnErrorNamingItAndItsLine) {
  const ConfigError e = load_error({}, {}, "localhost {\n  mercure {\n    publisher_jwt k\n    hartbeat 10s\n  }\n}\n");
  EXPECT_STREQ(e.what(), "hub.conf line 4: unknown directive \"hartbeat\" in the mercure block");
  EXPECT_EQ(e.setting(), "hartbeat");
}

TEST(ConfigLoader, FileStructureErrorsNameTheLine) {
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
  EXPECT_STREQ(load_error({}, {}, "mercure {\n publisher_jwks_url https://idp/jwks\n}\n").what(),
               "hub.conf line 2: publisher_jwks_url is not supported yet; give the key itself with publisher_jwt "
               "<PEM public key> <algorithm>");
}

TEST(ConfigLoader, FileValueErrorsNameTheDirectiveValueAndLine) {
  const ConfigError e = load_error(kKeyed, {}, "mercure {\n  anonymous\n  heartbeat 4x\n}\n");
  EXPECT_STREQ(e.what(),
               "invalid heartbeat \"4x\" (hub.conf line 3): not a duration: unknown unit \"x\" (units: ns, us, ms, s, "
               "m, h, d; examples: 40s, 500ms)");
  EXPECT_EQ(e.setting(), "heartbeat");
}

TEST(ConfigLoader, FileReferenceTuningDirectivesAreIgnoredWithAWarning) {
  const Loaded loaded = load(kKeyed, {}, "mercure {\n topic_selector_cache 10000 256\n}\n");
  EXPECT_EQ(loaded.warnings,
            Strings{"hub.conf line 2: directive \"topic_selector_cache\" is not needed by this hub and is ignored"});
}

TEST(ConfigLoader, FileWithoutAMercureBlockWarns) {
  const Loaded loaded = load(kKeyed, {}, "# nothing\n");
  EXPECT_EQ(loaded.warnings, Strings{"hub.conf: no mercure block found; the file sets nothing"});
}

TEST(ConfigLoader, ConfigFlagReadsTheNamedFile) {
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

// ----- validation --------------------------------------------------------------------------------

TEST(ConfigLoader, MissingPublisherKeyIsAnError) {
  const ConfigError e = load_error({{"SUBSCRIBER_JWT_KEY", "s"}});
  EXPECT_EQ(e.setting(), "PUBLISHER_JWT_KEY");
  EXPECT_STREQ(e.what(),
               "missing publisher JWT key: the hub cannot authorize publishers (set JWT_KEY or PUBLISHER_JWT_KEY, or "
               "publisher_jwt in the mercure block, or run with --dev)");
}

TEST(ConfigLoader, MissingSubscriberKeyIsAnErrorUnlessAnonymous) {
  const ConfigError e = load_error({{"PUBLISHER_JWT_KEY", "p"}});
  EXPECT_EQ(e.setting(), "SUBSCRIBER_JWT_KEY");
  EXPECT_TRUE(std::string(e.what()).starts_with("missing subscriber JWT key: the hub cannot authorize subscribers"));
  const Config c = load({{"PUBLISHER_JWT_KEY", "p"}, {"ALLOW_ANONYMOUS", "1"}}).config;
  EXPECT_EQ(c.subscriber_jwt.key, "");
}

TEST(ConfigLoader, ValueErrorsAreOneLineNamingTheSettingAsWritten) {
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
       "invalid TRANSPORT_URL \"/var/db\": not a transport URL (examples: local://, lmdb:///var/lib/mercure/hub.db)"},
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

TEST(ConfigLoader, KeyErrorsNeverEchoTheKey) {
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

TEST(ConfigLoader, EveryAsymmetricFamilyAcceptsItsPublicKey) {
  const auto cases = jwt_test::load_jwt_cases();
  for (const char* alg : {"RS256", "PS384", "ES512", "EdDSA"}) {
    const std::string pem = jwt_test::str(cases.keys.at(alg).as_object().at("public_pem"));
    const Config c = load({{"JWT_KEY", pem}, {"JWT_ALGORITHM", alg}}).config;
    EXPECT_EQ(c.publisher_jwt.algorithm, alg);
    EXPECT_EQ(c.subscriber_jwt.key, pem);
  }
}

TEST(ConfigLoader, OriginsThatCanNeverMatchAreWarnedAbout) {
  const Loaded loaded = load(with(kKeyed, {{"CORS_ALLOWED_ORIGINS", "https://a.example/ https://b.example"}}));
  EXPECT_EQ(loaded.warnings, Strings{"cors_origins: origin \"https://a.example/\" will never match a browser's Origin "
                                     "header (expected scheme://host[:port], no path)"});
}

TEST(ConfigLoader, LogFormatIsCaseInsensitive) {
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "JSON"}})).config.log_format, "json");
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "Text"}})).config.log_format, "text");
  EXPECT_EQ(load(with(kKeyed, {{"LOG_FORMAT", "FLUENTD"}})).config.log_format, "json");  // legacy value
}

// docs/configuration.md, "Limits": each limit from the environment, a flag and a directive.
TEST(ConfigLoader, LimitsAreReadFromEveryLayer) {
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

TEST(ConfigLoader, BadLimitsAreOneLineErrorsNamingTheSetting) {
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
