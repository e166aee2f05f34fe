#pragma once
// The table of every setting: its canonical key (also its directive in the mercure block), the
// kind of value it takes, and the flags and environment variables that feed it; and how the
// limits (docs/configuration.md, "Limits") are applied to the Config. Used by ConfigLoader.
// Immutable tables: safe to read from any thread.

#include "app/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mercure::settings {

enum class Kind { kString, kSecret, kBool, kDuration, kList, kWorkers, kAddress, kSize, kCount };

struct SettingSpec {
  std::string_view key;  // canonical name; also the directive name where one exists
  Kind kind;
};

// The setting named `key`, or nullptr.
[[nodiscard]] const SettingSpec* find_setting(std::string_view key);

// A flag and/or environment variables feeding one or more settings.
struct Input {
  std::vector<std::string_view> keys;
  int rank;                           // within one layer, the higher rank wins
  std::string_view flags;             // CLI11 names; empty = environment only
  std::vector<std::string_view> env;  // equal rank: two of them set differently is an error
  std::string_view type_name;
  std::string_view default_text;
  std::string_view help;
  bool server_name = false;  // value in SERVER_NAME syntax
};

// Every flag / environment input, in --help order.
[[nodiscard]] const std::vector<Input>& inputs();

// Applies one of the limit settings (read_header_timeout, idle_timeout, max_*) to `config`.
// False when `key` is not one of them. Throws std::invalid_argument (the reason only) for a bad value.
bool apply_limit_setting(Config& config, std::string_view key, const std::string& value);

}  // namespace mercure::settings
