#pragma once
// The entry point behind main(): command line, configuration, `token` subcommand, exit status.
//
//   exit 0   --help, --version, or a token was printed (help and version go to stdout)
//   exit 2   a bad flag or setting: ONE line on stderr, "mercure-hub: <what is wrong>", e.g.
//            mercure-hub: invalid HEARTBEAT_INTERVAL "4x": not a duration (examples: 40s, 500ms, 1m30s)
//   else     what run_hub returned (1 if it threw: its message is printed as one line on stderr)
//
// Before calling run_hub, run_cli installs logging (setup_logging with the configured format and
// level) and logs the configuration warnings (ignored directives, dev mode...), so run_hub may
// call setup_logging again or not at all. Start-up only; call once, from the main thread.

#include "app/config.hpp"

#include <functional>
#include <iosfwd>
#include <map>
#include <string>

namespace mercure {

// `env` is the environment (see environment_map); it is the only environment read, so tests can
// pass their own. `run_hub` runs the hub with the final configuration and returns the exit status.
int run_cli(int argc, char** argv, const std::map<std::string, std::string>& env,
            const std::function<int(const Config&)>& run_hub);

// Same, writing to `out` and `err` instead of stdout and stderr (logs still go to stderr).
int run_cli(int argc, char** argv, const std::map<std::string, std::string>& env,
            const std::function<int(const Config&)>& run_hub, std::ostream& out, std::ostream& err);

// "NAME=value" entries of main's third argument (or environ); the first of duplicate names wins,
// like getenv. A null envp gives an empty map.
[[nodiscard]] std::map<std::string, std::string> environment_map(char** envp);

}  // namespace mercure
