#pragma once
// The last step of loading the configuration: merges the layers (a later layer's setting replaces
// an earlier one's), parses each value into the Config, and checks what only makes sense as a
// whole: each role's key against its algorithm, CERT_FILE with KEY_FILE, the metrics address
// apart from the hub's, origins that can never match. Start-up only.

#include "app/config.hpp"
#include "app/config_layer.hpp"

#include <string>
#include <vector>

namespace mercure::settings {

// `layers` from lowest to highest precedence. Throws ConfigError (one line naming the setting as
// the user wrote it); findings that are not errors are appended to `warnings`.
[[nodiscard]] Config build_config(const std::vector<const Layer*>& layers, bool dev,
                                  std::vector<std::string>& warnings);

}  // namespace mercure::settings
