#include "app/config_layer.hpp"

#include <algorithm>
#include <cctype>

namespace mercure::settings {

std::string env_value(const Env& env, const std::string& name) {
  const auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char ch : value) {
    if (++shown > 100) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

namespace {

// Control characters escaped, so a message stays on one line whatever the input.
std::string printable(std::string_view text) {
  const std::string quoted = quote(text);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

void invalid(const RawSetting& raw, bool secret, const std::string& reason) {
  std::string message = "invalid " + raw.name;
  if (!secret) message += " " + quote(join(raw.values, " "));
  if (!raw.where.empty()) message += " (" + raw.where + ")";
  std::string clean_reason;
  for (char c : reason) {
    const auto u = static_cast<unsigned char>(c);
    clean_reason += (u < 0x20 || u == 0x7f) ? printable(std::string(1, c)) : std::string(1, c);
  }
  throw ConfigError(raw.name, message + ": " + clean_reason);
}

void file_error(const std::string& setting, const std::string& where, const std::string& reason) {
  throw ConfigError(setting, where + ": " + reason);
}

}  // namespace mercure::settings
