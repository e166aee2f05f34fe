#pragma once
// Builds the Config from four layers, each overriding the one below it:
//
//   command-line flags  >  environment  >  --config file  >  defaults (changed by --dev)
//
// - Environment: the reference hub's legacy names (ADDR, JWT_KEY, HEARTBEAT_INTERVAL, ...) and its
//   Docker image's names (SERVER_NAME, MERCURE_PUBLISHER_JWT_KEY, ...). An empty variable counts as
//   unset. Within the layer the specific name beats the general one (PUBLISHER_JWT_KEY beats
//   JWT_KEY, ADDR beats SERVER_NAME); two names of equal rank with different values are an error.
//   MERCURE_EXTRA_DIRECTIVES holds directives, one per line, read like the inside of a mercure
//   block; they apply at environment rank, over the other variables (as in the reference's
//   Caddyfile, where they come last in the block).
// - File: Caddyfile-like. `#` comments, "quoted" and `backquoted` strings, `{$NAME}` and
//   `{$NAME:default}` substituted in the text before parsing, `{env.NAME}` substituted inside
//   tokens, Caddy's `import` of snippets and files expanded (caddyfile_import). The
//   `mercure { ... }` block may stand alone or sit inside a site block
//   (`localhost:3000 { mercure { ... } }`, also nested in `route { }` and the like); the site
//   address then sets the port like SERVER_NAME, and handle_path / uri strip_prefix on the way
//   to it the hub's path prefixes (caddy_routes). Directives outside the mercure block are ignored
//   with a warning; an unknown directive inside it is an error naming it and its line.
//   A directive whose value is an empty placeholder counts as absent.
// - Flags: the legacy hub's flag names (--jwt-key, --allow-anonymous, --heartbeat-interval, ...),
//   a few shorter aliases, plus --config FILE and --dev.
// - --dev turns the defaults into development ones: anonymous subscribers, CORS origin "*", the
//   UI, and the key kDevJwtKey for any role whose key is not set; every layer can still override.
//
// Errors throw ConfigError (one line naming the setting as the user wrote it; secret values are
// never echoed). Start-up only; not thread-safe.

#include "app/config.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace mercure {

class ConfigLoader {
 public:
  explicit ConfigLoader(std::map<std::string, std::string> env);
  ~ConfigLoader();
  ConfigLoader(const ConfigLoader&) = delete;
  ConfigLoader& operator=(const ConfigLoader&) = delete;

  // Registers --config, --dev and every setting's flag on `app` (the help shows each flag's
  // default and environment names). The loader must outlive app.parse().
  void add_flags(CLI::App& app);

  // Adds variables to the environment layer where it has none of that name (Caddy's --envfile).
  void add_environment(const std::map<std::string, std::string>& vars);
  // True when --config was given (after app.parse()).
  [[nodiscard]] bool has_config_flag() const;

  // Reads the file at `path` as the file layer, as --config does (a later call replaces it).
  void use_file(const std::string& path);
  // Same, from text; `name` is used in messages ("hub.conf line 3"). For tests and embedders.
  void use_file_text(std::string text, std::string name);

  // Merges the layers and validates the result. Throws ConfigError.
  [[nodiscard]] Config load();

  // Non-fatal findings of the last load(), one line each (ignored directives, ...).
  [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  struct FlagValues;

  std::map<std::string, std::string> env_;
  std::unique_ptr<FlagValues> flags_;
  bool has_file_ = false;
  std::string file_text_;
  std::string file_name_;
  std::vector<std::string> warnings_;
};

}  // namespace mercure
