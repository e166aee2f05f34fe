#include "app/cli.hpp"

#include "core/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mercure {
namespace {

using EnvVars = std::map<std::string, std::string>;

struct CliRun {
  int status = -1;
  std::string out;
  std::string err;
  std::optional<Config> config;  // what run_hub received, if it was called
};

// `while_running`: called with the configuration while the hub would run.
CliRun run(std::vector<std::string> args, const EnvVars& env, int hub_status = 0, bool hub_throws = false,
           const std::function<void()>& while_running = {}) {
  args.insert(args.begin(), "mercure-hub");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  CliRun result;
  std::ostringstream out;
  std::ostringstream err;
  result.status = run_cli(
      static_cast<int>(args.size()), argv.data(), env,
      [&](const Config& c) {
        result.config = c;
        if (while_running) while_running();
        if (hub_throws) throw std::runtime_error("cannot bind 127.0.0.1:80: Permission denied");
        return hub_status;
      },
      out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

const EnvVars kKeyed = {{"JWT_KEY", "test-secret"}};

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, RunsTheHubWithTheMergedConfigAndReturnsItsStatus) {
  const CliRun r = run({"--workers", "2", "--cookie-name", "myHubCookie"},
                       {{"JWT_KEY", "k"}, {"ADDR", "127.0.0.1:0"}, {"ALLOW_ANONYMOUS", "1"}}, 7);
  EXPECT_EQ(r.status, 7);
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_EQ(r.config->workers, 2U);
  EXPECT_EQ(r.config->cookie_name, "myHubCookie");
  EXPECT_EQ(r.config->listen_host, "127.0.0.1");
  EXPECT_EQ(r.config->listen_port, 0);
  EXPECT_TRUE(r.config->anonymous);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST(Cli, HelpListsEveryFlagWithItsDefaultAndEnvironmentNames) {
  const CliRun r = run({"--help"}, {});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.err, "");
  for (const char* text : {"--config",
                           "--dev",
                           "--addr",
                           ":3000",
                           "[env: ADDR]",
                           "--workers",
                           "[env: WORKERS]",
                           "--jwt-key",
                           "[env: JWT_KEY]",
                           "--jwt-algorithm",
                           "HS256",
                           "[env: JWT_ALGORITHM]",
                           "--publisher-jwt-key",
                           "[env: PUBLISHER_JWT_KEY, MERCURE_PUBLISHER_JWT_KEY]",
                           "--publisher-jwt-algorithm",
                           "[env: PUBLISHER_JWT_ALGORITHM, MERCURE_PUBLISHER_JWT_ALG]",
                           "--subscriber-jwt-key",
                           "[env: SUBSCRIBER_JWT_KEY, MERCURE_SUBSCRIBER_JWT_KEY]",
                           "--subscriber-jwt-algorithm",
                           "[env: SUBSCRIBER_JWT_ALGORITHM, MERCURE_SUBSCRIBER_JWT_ALG]",
                           "--allow-anonymous",
                           "[env: ALLOW_ANONYMOUS]",
                           "--subscriptions",
                           "[env: SUBSCRIPTIONS]",
                           "--cors-allowed-origins",
                           "[env: CORS_ALLOWED_ORIGINS]",
                           "--publish-allowed-origins",
                           "[env: PUBLISH_ALLOWED_ORIGINS]",
                           "--cookie-name",
                           "mercureAuthorization",
                           "--heartbeat-interval",
                           "=40s",
                           "[env: HEARTBEAT_INTERVAL]",
                           "--write-timeout",
                           "=600s",
                           "[env: WRITE_TIMEOUT]",
                           "--dispatch-timeout",
                           "=5s",
                           "[env: DISPATCH_TIMEOUT]",
                           "--read-timeout",
                           "[env: READ_TIMEOUT]",
                           "--transport-url",
                           "URL=lmdb://mercure.lmdb",
                           "[env: TRANSPORT_URL]",
                           "--ui",
                           "--demo",
                           "[env: DEMO]",
                           "--debug",
                           "[env: DEBUG]",
                           "--log-format",
                           "=text",
                           "[env: LOG_FORMAT]",
                           "--use-forwarded-headers",
                           "[env: USE_FORWARDED_HEADERS]",
                           "--metrics-enabled",
                           "[env: METRICS_ENABLED]",
                           "--metrics-addr",
                           "only on this separate address",
                           "[env: METRICS_ADDR]",
                           "--cert-file",
                           "[env: CERT_FILE]",
                           "--key-file",
                           "[env: KEY_FILE]",
                           "--protocols",
                           "[env: PROTOCOLS]",
                           "SERVER_NAME",
                           "MERCURE_EXTRA_DIRECTIVES",
                           "token",
                           "--version"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << "help lacks " << text << "\n" << r.out;
  }
  // The defaults shown are the ones a hub started without the setting uses.
  EXPECT_NE(r.out.find("URL=" + Config{}.transport_url), std::string::npos);
}

TEST(Cli, HelpOfTheTokenSubcommandListsItsOptions) {
  const CliRun r = run({"token", "--help"}, {});
  EXPECT_EQ(r.status, 0);
  for (const char* text : {"--key", "--key-file", "--alg", "--publish", "--subscribe", "--exp", "--payload"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
  }
}

TEST(Cli, VersionPrintsOneLineAndExitsZero) {
  const CliRun r = run({"--version"}, {});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.out.starts_with("mercure-hub ")) << r.out;
  EXPECT_EQ(lines(r.out), 1U);
  EXPECT_FALSE(r.config.has_value());
}

TEST(Cli, ABadSettingExitsTwoWithOneLineNamingIt) {
  const CliRun r = run({}, {{"JWT_KEY", "k"}, {"HEARTBEAT_INTERVAL", "4x"}});
  EXPECT_EQ(r.status, 2);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.err,
            "mercure-hub: invalid HEARTBEAT_INTERVAL \"4x\": not a duration: unknown unit \"x\" (units: ns, us, ms, s, "
            "m, h, d; examples: 40s, 500ms)\n");
  EXPECT_EQ(r.out, "");
}

TEST(Cli, EveryKindOfStartupMistakeIsOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, EnvVars>> mistakes = {
      {{}, {}},                                                     // no key at all
      {{}, {{"JWT_KEY", "k"}, {"JWT_ALGORITHM", "XX999"}}},         // unknown algorithm
      {{}, {{"JWT_KEY", "k"}, {"ADDR", ":65536"}}},                 // port out of range
      {{"--workers", "4096"}, kKeyed},                              // too many workers
      {{"--nope"}, kKeyed},                                         // unknown flag
      {{"--heartbeat"}, kKeyed},                                    // flag without its value
      {{"--config", "/nonexistent/hub.conf"}, kKeyed},              // unreadable file
      {{}, {{"JWT_KEY", "k"}, {"MERCURE_EXTRA_DIRECTIVES", "x"}}},  // unknown directive
      {{"unexpected"}, kKeyed},                                     // stray argument
  };
  for (const auto& [args, env] : mistakes) {
    const CliRun r = run(args, env);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(lines(r.err), 1U) << r.err;
    EXPECT_TRUE(r.err.starts_with("mercure-hub: ")) << r.err;
    EXPECT_FALSE(r.config.has_value());
  }
}

TEST(Cli, AnExceptionFromTheHubIsOneLineAndExitOne) {
  const CliRun r = run({}, kKeyed, 0, /*hub_throws=*/true);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "mercure-hub: cannot bind 127.0.0.1:80: Permission denied\n");
}

TEST(Cli, DevModeNeedsNoKey) {
  const CliRun r = run({"--dev", "--addr", "127.0.0.1:3000"}, {});
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(r.config.has_value());
  EXPECT_TRUE(r.config->dev);
  EXPECT_EQ(r.config->publisher_jwt.key, kDevJwtKey);
}

TEST(Cli, TokenSubcommandPrintsATokenOurVerifierAcceptsWithoutStartingTheHub) {
  const CliRun r =
      run({"token", "--key", std::string(kDevJwtKey), "--publish", "*", "--subscribe", "*", "--exp", "24h"},
          {});  // no hub key needed
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(lines(r.out), 1U);
  const std::string token = r.out.substr(0, r.out.size() - 1);
  auto verifier = JwtVerifier::create(JwtAlgorithm::HS256, kDevJwtKey);
  ASSERT_TRUE(verifier);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto claims = verifier->verify(token, now);
  ASSERT_TRUE(claims) << claims.error().reason;
  EXPECT_FALSE(verifier->verify(token, now + 25 * 3600));
}

TEST(Cli, TokenMistakesExitTwo) {
  const CliRun r = run({"token", "--publish", "*"}, {});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "mercure-hub: token needs exactly one of --key and --key-file\n");
}

// A fresh directory, made the working directory while the object lives.
class InTempDir {
 public:
  InTempDir() : dir_(std::filesystem::path(::testing::TempDir()) / ("cli_test_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    previous_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_);
  }
  ~InTempDir() {
    std::filesystem::current_path(previous_);
    std::filesystem::remove_all(dir_);
  }
  InTempDir(const InTempDir&) = delete;
  InTempDir& operator=(const InTempDir&) = delete;
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path previous_;
};

TEST(Cli, CaddysRunCommandLineIsAcceptedAsTheReferencesDocsWriteIt) {
  const InTempDir dir;
  dir.write("hub.Caddyfile", "mercure {\n publisher_jwt file-key\n anonymous\n}\n");
  // The reference's Helm chart (dev mode) and Docker image.
  CliRun r = run({"run", "--config", dir.path("hub.Caddyfile"), "--adapter", "caddyfile"}, {});
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_EQ(r.config->publisher_jwt.key, "file-key");
  EXPECT_TRUE(r.config->anonymous);
  // `./mercure run` reads ./Caddyfile, as `caddy run` does; without `run`, no file is read.
  dir.write("Caddyfile", "mercure {\n publisher_jwt cwd-key\n anonymous\n}\n");
  r = run({"run"}, {});
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_EQ(r.config->publisher_jwt.key, "cwd-key");
  r = run({}, kKeyed);
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_FALSE(r.config->anonymous);
  // Another adapter: the file would be read as what it is not.
  r = run({"run", "--config", dir.path("hub.Caddyfile"), "--adapter", "json"}, {});
  EXPECT_EQ(r.status, 2);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.err,
            "mercure-hub: --adapter json: only caddyfile is read (the --config file is a Caddyfile; Caddy's JSON is "
            "not)\n");
}

TEST(Cli, EnvfileFillsTheEnvironmentWithoutOverridingItAndPidfileIsWritten) {
  const InTempDir dir;
  dir.write("hub.env",
            "# the hub's secrets\n\nexport JWT_KEY=\"from \\\"file\\\"\"\nCOOKIE_NAME='fileCookie'\n"
            "HEARTBEAT_INTERVAL=15s # every 15 s\nWORKERS=3\n");
  long written = 0;
  const auto read_pid = [&] {
    std::ifstream pid(dir.path("hub.pid"));
    pid >> written;
  };
  CliRun r = run({"run", "--envfile", dir.path("hub.env"), "--pidfile", dir.path("hub.pid")}, {{"WORKERS", "2"}}, 0,
                 false, read_pid);
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_EQ(r.config->publisher_jwt.key, "from \"file\"");
  EXPECT_EQ(r.config->cookie_name, "fileCookie");
  EXPECT_EQ(r.config->heartbeat, std::chrono::seconds(15));
  EXPECT_EQ(r.config->workers, 2U) << "the environment wins over the file";
  EXPECT_EQ(written, static_cast<long>(::getpid())) << "written while the hub runs";
  EXPECT_FALSE(std::filesystem::exists(dir.path("hub.pid"))) << "removed when it stops";
  // Ended by an error (a bind refused): removed too; another process's pid file is left alone.
  r = run({"run", "--envfile", dir.path("hub.env"), "--pidfile", dir.path("hub.pid")}, {}, 0, true);
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path("hub.pid")));
  r = run({"run", "--envfile", dir.path("hub.env"), "--pidfile", dir.path("hub.pid")}, {}, 0, false,
          [&] { dir.write("hub.pid", "1\n"); });
  EXPECT_TRUE(std::filesystem::exists(dir.path("hub.pid"))) << "taken over by another process";

  // A quoted value with a comment after it, and one over several lines (a PEM key).
  dir.write("quoted.env",
            "JWT_KEY=\"quoted-secret\" # the key\nSUBSCRIBER_JWT_KEY='multi\nline'\nHEARTBEAT_INTERVAL=\"9s\"\n");
  r = run({"--envfile", dir.path("quoted.env")}, {});
  ASSERT_TRUE(r.config.has_value()) << r.err;
  EXPECT_EQ(r.config->publisher_jwt.key, "quoted-secret");
  EXPECT_EQ(r.config->subscriber_jwt.key, "multi\nline");
  EXPECT_EQ(r.config->heartbeat, std::chrono::seconds(9));
  dir.write("open.env", "JWT_KEY=k\nPEM=\"-----BEGIN\nno end\n");
  r = run({"--envfile", dir.path("open.env")}, {});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "mercure-hub: --envfile " + dir.path("open.env") + " line 2: the quote opened here is not closed\n");

  dir.write("bad.env", "JWT_KEY=k\nthis line has no equals sign\n");
  r = run({"--envfile", dir.path("bad.env")}, {});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "mercure-hub: --envfile " + dir.path("bad.env") + " line 2: not a KEY=VALUE line\n");
  r = run({"--envfile", dir.path("missing.env")}, {});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--envfile " + dir.path("missing.env") + ": cannot read the file"), std::string::npos);
}

TEST(Cli, EnvironmentMapSplitsAtTheFirstEqualsSignAndKeepsTheFirstDuplicate) {
  std::vector<std::string> entries = {"JWT_KEY=a=b", "EMPTY=", "NOEQUALS", "=nameless", "DUP=first", "DUP=second"};
  std::vector<char*> envp;
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  const EnvVars env = environment_map(envp.data());
  EXPECT_EQ(env, (EnvVars{{"JWT_KEY", "a=b"}, {"EMPTY", ""}, {"DUP", "first"}}));
  EXPECT_TRUE(environment_map(nullptr).empty());
}

}  // namespace
}  // namespace mercure
