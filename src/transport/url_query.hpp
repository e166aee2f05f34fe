#pragma once
// The query string of a transport URL (`lmdb://...?size=N`, `redis://...?stream=S`): split on
// '&', each `key=value` percent-decoded ('+' is a space), a key at most once, never without a
// value. Shared by the transports' URL parsers; pure functions, safe from any thread.

#include "core/error.hpp"

#include <charconv>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

// Calls `apply(key, value)` for each parameter, in order; stops at the first error (its own or
// one returned by `apply`). Errors are Errc::bad_request with one line naming the parameter.
[[nodiscard]] Result<void> for_each_query_parameter(
    std::string_view query, const std::function<Result<void>(const std::string&, const std::string&)>& apply);

// `"text"`: quoted for an error message.
[[nodiscard]] std::string quoted(std::string_view s);

// A decimal number without sign or spaces; nullopt otherwise (also on overflow).
template <class T>
[[nodiscard]] std::optional<T> parse_unsigned(std::string_view v) {
  if (v.empty() || v.front() < '0' || v.front() > '9') return std::nullopt;
  T out{};
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return out;
}

// "1"/"true" or "0"/"false", in any case; nullopt otherwise.
[[nodiscard]] std::optional<bool> parse_bool_parameter(std::string_view v);

}  // namespace mercure
