#include "app/config_loader.hpp"

#include "app/config_builder.hpp"
#include "app/config_file_layer.hpp"
#include "app/config_layer.hpp"
#include "app/config_settings.hpp"

#include <CLI/CLI.hpp>

#include <deque>
#include <fstream>
#include <sstream>
#include <string_view>

namespace mercure {
namespace {

using settings::Env;
using settings::find_setting;
using settings::Input;
using settings::inputs;
using settings::invalid;
using settings::Kind;
using settings::Layer;
using settings::quote;
using settings::RawSetting;

std::string first_flag_name(std::string_view flags) {
  return std::string(flags.substr(0, flags.find(',')));
}

struct RankedLayer {
  Layer layer;
  std::map<std::string, int, std::less<>> rank;

  void put(const Input& input, const RawSetting& raw) {
    for (std::string_view key : input.keys) {
      const auto it = rank.find(key);
      if (it != rank.end() && it->second > input.rank) continue;
      layer[std::string(key)] = raw;
      rank[std::string(key)] = input.rank;
    }
  }
};

RawSetting raw_from_text(const Input& input, const std::string& value, const std::string& name) {
  RawSetting raw{{value}, name, ""};
  if (input.server_name) {
    try {
      raw.values = {":" + std::to_string(parse_server_name(value).port)};
    } catch (const std::invalid_argument& e) {
      invalid(raw, false, e.what());
    }
  } else if (find_setting(input.keys.front())->kind == Kind::kList) {
    raw.values = parse_list(value);
  }
  return raw;
}

Layer environment_layer(const Env& env, std::vector<std::string>& warnings) {
  RankedLayer ranked;
  for (const Input& input : inputs()) {
    const std::string* value = nullptr;
    std::string used;
    for (std::string_view name : input.env) {
      const auto it = env.find(std::string(name));
      if (it == env.end() || it->second.empty()) continue;
      if (value != nullptr && *value != it->second) {
        throw ConfigError(std::string(name), "conflicting " + used + " and " + std::string(name) +
                                                 ": set only one of them (or both to the same value)");
      }
      if (value == nullptr) {
        value = &it->second;
        used = std::string(name);
      }
    }
    if (value != nullptr) ranked.put(input, raw_from_text(input, *value, used));
  }
  Layer layer = std::move(ranked.layer);
  // Caddy configuration the reference's image splices into its Caddyfile: nothing here reads it.
  for (const char* caddy : {"CADDY_EXTRA_CONFIG", "CADDY_SERVER_EXTRA_DIRECTIVES"}) {
    if (!settings::env_value(env, caddy).empty()) {
      warnings.push_back(std::string(caddy) +
                         " is set and ignored: this hub reads no Caddy directives (only the mercure block's, "
                         "MERCURE_EXTRA_DIRECTIVES and GLOBAL_OPTIONS)");
    }
  }
  // The reference's Docker image puts GLOBAL_OPTIONS in its Caddyfile's global options block.
  const std::string global = settings::env_value(env, "GLOBAL_OPTIONS");
  if (!global.empty()) {
    settings::apply_global_options(caddyfile::parse_text(global, "GLOBAL_OPTIONS", env), "GLOBAL_OPTIONS", layer,
                                   warnings);
  }
  const std::string extra = settings::env_value(env, "MERCURE_EXTRA_DIRECTIVES");
  if (!extra.empty()) {
    const auto nodes = caddyfile::parse_text(extra, "MERCURE_EXTRA_DIRECTIVES", env);
    settings::apply_directives(nodes, "MERCURE_EXTRA_DIRECTIVES", layer, warnings);
  }
  return layer;
}

Layer dev_layer() {
  Layer layer;
  const std::string name = "--dev";
  layer["anonymous"] = RawSetting{{"true"}, name, ""};
  layer["cors_origins"] = RawSetting{{"*"}, name, ""};
  layer["ui"] = RawSetting{{"true"}, name, ""};
  layer["publisher_jwt_key"] = RawSetting{{std::string(kDevJwtKey)}, name, ""};
  layer["subscriber_jwt_key"] = RawSetting{{std::string(kDevJwtKey)}, name, ""};
  return layer;
}

}  // namespace

struct ConfigLoader::FlagValues {
  std::deque<std::vector<std::string>> values;  // one per inputs() entry; deque: stable addresses
  std::string config_path;
  bool dev = false;
};

ConfigLoader::ConfigLoader(std::map<std::string, std::string> env)
    : env_(std::move(env)), flags_(std::make_unique<FlagValues>()) {
  flags_->values.resize(inputs().size());
}

ConfigLoader::~ConfigLoader() = default;

void ConfigLoader::add_flags(CLI::App& app) {
  app.add_option("--config", flags_->config_path,
                 "read a Caddyfile-like file with a mercure { } block (below the environment in precedence)")
      ->type_name("FILE");
  app.add_flag("--dev", flags_->dev,
               "development mode: anonymous subscribers, CORS *, the UI, and the key "
               "!ChangeThisMercureHubJWTSecretKey! for any role without one");
  const auto& all = inputs();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Input& input = all[i];
    if (input.flags.empty()) continue;
    std::string help(input.help);
    if (!input.env.empty()) {
      help += " [env: ";
      for (std::size_t k = 0; k < input.env.size(); ++k) help += (k ? ", " : "") + std::string(input.env[k]);
      help += "]";
    }
    CLI::Option* option = nullptr;
    if (find_setting(input.keys.front())->kind == Kind::kBool) {
      option = app.add_flag(std::string(input.flags), flags_->values[i], help);
    } else {
      option = app.add_option(std::string(input.flags), flags_->values[i], help)
                   ->expected(1)
                   ->allow_extra_args(false)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      option->type_name(std::string(input.type_name));
    }
    if (!input.default_text.empty()) option->default_str(std::string(input.default_text));
  }
}

void ConfigLoader::use_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--config", "invalid --config " + quote(path) + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError("--config", "invalid --config " + quote(path) + ": cannot read the file");
  use_file_text(text.str(), path);
}

void ConfigLoader::add_environment(const std::map<std::string, std::string>& vars) {
  for (const auto& [name, value] : vars) env_.emplace(name, value);  // emplace: what is set wins
}

bool ConfigLoader::has_config_flag() const {
  return !flags_->config_path.empty();
}

void ConfigLoader::use_file_text(std::string text, std::string name) {
  has_file_ = true;
  file_text_ = std::move(text);
  file_name_ = std::move(name);
}

Config ConfigLoader::load() {
  warnings_.clear();
  if (!flags_->config_path.empty()) use_file(flags_->config_path);

  RankedLayer flag_layer;
  const auto& all = inputs();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::vector<std::string>& given = flags_->values[i];
    if (given.empty()) continue;
    const Input& input = all[i];
    const std::string name = first_flag_name(input.flags);
    RawSetting raw{{given.back()}, name, ""};
    if (find_setting(input.keys.front())->kind == Kind::kList) {
      raw.values.clear();
      for (const auto& item : given) {
        for (auto& part : parse_list(item)) raw.values.push_back(std::move(part));
      }
    }
    flag_layer.put(input, raw);
  }

  const Layer dev = flags_->dev ? dev_layer() : Layer{};
  const Layer file = has_file_ ? settings::file_layer(file_text_, file_name_, env_, warnings_) : Layer{};
  Layer env = environment_layer(env_, warnings_);
  // The environment wins over the file; say so where they disagree (the reference reads its image's
  // variables only where its Caddyfile names them, so a custom file meant otherwise).
  for (auto it = env.begin(); it != env.end();) {
    const auto in_file = file.find(it->first);
    if (in_file == file.end() || in_file->second.values == it->second.values) {
      ++it;
      continue;
    }
    const RawSetting& f = in_file->second;
    if (it->second.name == "MERCURE_TRANSPORT_URL") {
      // The reference's rule for its deprecated variable: used only when the file sets no transport.
      warnings_.push_back("MERCURE_TRANSPORT_URL ignored: " + f.where + " sets the transport");
      it = env.erase(it);
      continue;
    }
    warnings_.push_back(f.where + ": " + f.name + " is overridden by " + it->second.name +
                        (it->second.where.empty() ? "" : " (" + it->second.where + ")") +
                        " (the environment wins over the file)");
    ++it;
  }
  return settings::build_config({&dev, &file, &env, &flag_layer.layer}, flags_->dev, warnings_);
}

}  // namespace mercure
