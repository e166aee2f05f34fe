#include "app/cli.hpp"

#include "app/caddy_run.hpp"
#include "app/config_loader.hpp"
#include "app/logging.hpp"
#include "app/token_command.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#ifndef MERCURE_HUB_VERSION
#error "MERCURE_HUB_VERSION is defined by CMakeLists.txt (the project version)"
#endif

namespace mercure {
namespace {

constexpr std::string_view kFooter =
    R"(Precedence: flags > environment > --config file > defaults (--dev changes the defaults).
Environment only:
  SERVER_NAME               site address: host:port, :port or host (ADDR wins for the bind); a public
                            name without CERT_FILE gets its certificate by ACME (port 443)
  MERCURE_EXTRA_DIRECTIVES  mercure block directives, one per line (applied over the other variables)
Booleans: 1/0, true/false, yes/no, on/off. Durations: 40s, 500ms, 1m30s, 1h, 0 (a bare number needs a unit).
Lists: separated by spaces or commas. Empty variables count as unset.
Every setting, with its directive name: docs/configuration.md.

Print a token: mercure-hub token --key KEY --publish '*' [--subscribe SEL] [--exp 1h])";

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::int64_t now_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int run_cli(int argc, char** argv, const std::map<std::string, std::string>& env,
            const std::function<int(const Config&)>& run_hub) {
  return run_cli(argc, argv, env, run_hub, std::cout, std::cerr);
}

int run_cli(int argc, char** argv, const std::map<std::string, std::string>& env,
            const std::function<int(const Config&)>& run_hub, std::ostream& out, std::ostream& err) {
  CLI::App app{"mercure-hub: a Mercure protocol hub", "mercure-hub"};
  app.get_formatter()->column_width(44);
  app.footer(std::string(kFooter));
  app.set_version_flag("--version", std::string("mercure-hub ") + MERCURE_HUB_VERSION);
  ConfigLoader loader(env);
  loader.add_flags(app);
  CaddyRun caddy;
  caddy.add_flags(app);
  TokenCommand token(app);
  caddy.take_command(argc, argv);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "mercure-hub: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  }

  if (token.selected()) return token.run(out, err, now_unix_seconds());

  Config config;
  std::vector<std::string> caddy_warnings;
  try {
    caddy_warnings = caddy.check();
    for (const std::string& file : caddy.envfiles) loader.add_environment(read_env_file(file));
    // As `caddy run`: a Caddyfile in the working directory when no --config names one.
    if (caddy.run && !loader.has_config_flag() && std::filesystem::is_regular_file("Caddyfile")) {
      loader.use_file("Caddyfile");
    }
    config = loader.load();
    if (!caddy.pidfile.empty()) write_pid_file(caddy.pidfile);
  } catch (const std::exception& e) {  // ConfigError, and the files of --envfile and --pidfile
    err << "mercure-hub: " << one_line(e.what()) << '\n';
    return 2;
  }

  setup_logging(config.log_format, config.debug);
  for (const std::string& warning : caddy_warnings) spdlog::warn("{}", warning);
  for (const std::string& warning : loader.warnings()) spdlog::warn("{}", warning);
  if (config.dev) {
    spdlog::warn(
        "development mode: anonymous subscribers, CORS *, and the public development key unless set; "
        "never use it in production");
  }

  // The pid file goes with the process, however the hub ends (a bind that failed included).
  struct PidFileRemoval {
    const std::string& path;
    ~PidFileRemoval() {
      if (!path.empty()) remove_pid_file(path);
    }
  } removal{caddy.pidfile};
  try {
    return run_hub(config);
  } catch (const std::exception& e) {
    err << "mercure-hub: " << one_line(e.what()) << '\n';
    return 1;
  }
}

std::map<std::string, std::string> environment_map(char** envp) {
  std::map<std::string, std::string> env;
  if (envp == nullptr) return env;
  for (char** entry = envp; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));  // emplace: first wins
  }
  return env;
}

}  // namespace mercure
