#pragma once
// One layer of settings as a source gave them (the environment, a --config file, the flags,
// --dev), before they are merged and checked; and the one-line error messages every layer and
// the final checks share. Used by ConfigLoader and its parts; start-up only.

#include "app/config.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mercure::settings {

using Env = std::map<std::string, std::string>;

// One setting as one source gave it.
struct RawSetting {
  std::vector<std::string> values;  // one for scalars, the items for lists
  std::string name;                 // as the user wrote it: "HEARTBEAT_INTERVAL", "--heartbeat-interval", "heartbeat"
  std::string where;                // "hub.conf line 3", "MERCURE_EXTRA_DIRECTIVES line 1", or empty
};
using Layer = std::map<std::string, RawSetting, std::less<>>;

// The name of the metrics_enabled a Caddy `servers { metrics }` global option sets (metrics then
// served on the admin endpoint only, see Config::metrics_admin_only).
inline constexpr std::string_view kServersMetrics = "servers { metrics }";

// The value of `name` in `env`, empty when unset.
[[nodiscard]] std::string env_value(const Env& env, const std::string& name);

// A value made safe for a one-line message: escaped, quoted, shortened.
[[nodiscard]] std::string quote(std::string_view value);
[[nodiscard]] std::string join(const std::vector<std::string>& items, std::string_view sep);
[[nodiscard]] std::string lower(std::string_view s);

// Throws ConfigError `invalid NAME "VALUE" (WHERE): REASON`; a secret's value is never echoed.
[[noreturn]] void invalid(const RawSetting& raw, bool secret, const std::string& reason);
// Throws ConfigError `WHERE: REASON` for `setting`.
[[noreturn]] void file_error(const std::string& setting, const std::string& where, const std::string& reason);

}  // namespace mercure::settings
