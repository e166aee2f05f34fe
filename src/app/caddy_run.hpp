#pragma once
// Caddy's `run` command line, as the reference hub's docs (`./mercure run`), its Docker image and
// its Helm chart (`caddy run --config /etc/caddy/dev.Caddyfile --adapter caddyfile`) write it:
// a leading `run` is accepted (and, as Caddy does, reads ./Caddyfile when no --config is given),
// `--adapter caddyfile`, `--envfile FILE` (KEY=VALUE lines, not overriding the environment) and
// `--pidfile FILE` are honoured, `--watch`, `--resume` and `--environ` are accepted with a warning.
// Start-up only.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace mercure {

struct CaddyRun {
  bool run = false;  // the command line began with `run`
  std::string adapter;
  std::vector<std::string> envfiles;
  std::string pidfile;
  bool watch = false;
  bool resume = false;
  bool print_environ = false;

  // Registers --adapter, --envfile, --pidfile, --watch, --resume, --environ on `app`.
  void add_flags(CLI::App& app);
  // Drops a leading `run` from argv (argc updated); sets `run`.
  void take_command(int& argc, char** argv);
  // Warnings for the flags accepted and not acted on. Throws std::invalid_argument for an
  // adapter other than caddyfile.
  [[nodiscard]] std::vector<std::string> check() const;
};

// The variables of an environment file (Caddy's --envfile): KEY=VALUE lines, `#` comments and
// blank lines skipped, an optional `export ` before the key, a value in single or double quotes
// unquoted (it may span lines; \n, \" and \\ read in double quotes; a comment may follow it),
// else cut at a " #" comment and trimmed. Throws std::runtime_error "FILE line N: ..." for an
// unreadable file, a line without a key, or a quote not closed.
[[nodiscard]] std::map<std::string, std::string> read_env_file(const std::string& path);

// Writes this process's id and a newline to `path`. Throws std::runtime_error naming it.
void write_pid_file(const std::string& path);

// Removes `path` if it still holds this process's id (not another process's that took it over).
void remove_pid_file(const std::string& path);

}  // namespace mercure
