#include "app/caddy_run.hpp"

#include "app/config.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace mercure {

void CaddyRun::add_flags(CLI::App& app) {
  app.add_option("--adapter", adapter, "Caddy's config adapter: only caddyfile (what --config files are)")
      ->type_name("NAME");
  app.add_option("--envfile", envfiles, "load KEY=VALUE lines into the environment (variables already set win)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--pidfile", pidfile, "write the process id to this file")->type_name("FILE");
  app.add_flag("--watch", watch, "(Caddy's; ignored: the hub reads its configuration at start-up)");
  app.add_flag("--resume", resume, "(Caddy's; ignored)");
  app.add_flag("--environ", print_environ, "(Caddy's; ignored)");
}

void CaddyRun::take_command(int& argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "run") return;
  run = true;
  for (int i = 1; i + 1 <= argc; ++i) argv[i] = argv[i + 1];  // argv[argc] is null
  --argc;
}

std::vector<std::string> CaddyRun::check() const {
  if (!adapter.empty() && adapter != "caddyfile") {
    throw std::invalid_argument("--adapter " + adapter +
                                ": only caddyfile is read (the --config file is a Caddyfile; Caddy's JSON is not)");
  }
  std::vector<std::string> warnings;
  if (watch) warnings.emplace_back("--watch ignored: the configuration is read at start-up (restart to change it)");
  if (resume) warnings.emplace_back("--resume ignored: the configuration is read from --config and the environment");
  if (print_environ) warnings.emplace_back("--environ ignored: the environment is not printed (it holds the keys)");
  return warnings;
}

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("--envfile " + path + ": cannot read the file: " + std::strerror(errno));
  const auto fail = [&](int line, const std::string& why) {
    throw std::runtime_error("--envfile " + path + " line " + std::to_string(line) + ": " + why);
  };
  std::map<std::string, std::string> vars;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    if (text.starts_with("export ")) text = trim(text.substr(7));
    const auto eq = text.find('=');
    // A copy: a quoted value over several lines reads the next ones into `line`.
    const std::string key(eq == std::string_view::npos ? std::string_view{} : trim(text.substr(0, eq)));
    if (key.empty() || key.find_first_of(" \t\"'") != std::string::npos) fail(number, "not a KEY=VALUE line");
    std::string_view rest = trim(text.substr(eq + 1));
    std::string value;
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
      // A quoted value, which may go on over the next lines (a PEM key); \n, \" and \\ are
      // read in double quotes. After the closing quote only a comment may follow.
      const char quote = rest.front();
      const int opened = number;
      rest.remove_prefix(1);
      for (;;) {
        std::size_t i = 0;
        for (; i < rest.size() && rest[i] != quote; ++i) {
          if (quote == '"' && rest[i] == '\\' && i + 1 < rest.size()) {
            ++i;
            value += rest[i] == 'n' ? '\n' : rest[i];
          } else {
            value += rest[i];
          }
        }
        if (i < rest.size()) {
          const std::string_view after = trim(rest.substr(i + 1));
          if (!after.empty() && after.front() != '#') fail(number, "text after the closing quote");
          break;
        }
        if (!std::getline(in, line)) fail(opened, "the quote opened here is not closed");
        ++number;
        value += '\n';
        rest = line;
        if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
      }
    } else {
      if (const auto comment = rest.find(" #"); comment != std::string_view::npos) rest = trim(rest.substr(0, comment));
      value = std::string(rest);
    }
    vars[key] = std::move(value);  // a later line wins, as in a shell
  }
  return vars;
}

void write_pid_file(const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << ::getpid() << '\n';
  out.flush();
  if (!out) throw std::runtime_error("--pidfile " + path + ": cannot write the file: " + std::strerror(errno));
}

void remove_pid_file(const std::string& path) {
  long pid = 0;
  {
    std::ifstream in(path);
    if (!(in >> pid) || pid != static_cast<long>(::getpid())) return;
  }
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

}  // namespace mercure
