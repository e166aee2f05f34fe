#pragma once
// Loading a configuration in tests the way main() does: flags parsed by CLI11, an environment
// given as a map, and optionally a --config file's text. Shared by the ConfigLoader,
// ConfigFileLayer and ConfigBuilder tests, which go through the loader's public interface.

#include "app/config_loader.hpp"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mercure::config_test {

using Env = std::map<std::string, std::string>;
using Strings = std::vector<std::string>;
using std::chrono::milliseconds;

struct Loaded {
  Config config;
  Strings warnings;
};

// Loads a configuration as `mercure-hub <args>` would with environment `env` and, when given,
// a --config file whose content is `file` (named hub.conf in messages).
inline Loaded load(const Env& env, Strings args = {}, const std::optional<std::string>& file = std::nullopt) {
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

inline ConfigError load_error(const Env& env, const Strings& args = {},
                              const std::optional<std::string>& file = std::nullopt) {
  try {
    (void)load(env, args, file);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ConfigError";
  return ConfigError("", "no error");
}

inline const Env kKeyed = {{"JWT_KEY", "test-secret"}};

inline Env with(Env env, const Env& more) {
  for (const auto& [k, v] : more) env[k] = v;
  return env;
}

inline std::string one_line_pem(std::string pem) {
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

}  // namespace mercure::config_test
