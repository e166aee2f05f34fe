#pragma once
// Small helpers for the text of header fields.

#include <cstddef>
#include <string_view>

namespace mercure {

// `s` without the optional whitespace (spaces and tabs, RFC 9110 5.6.3) at either end.
[[nodiscard]] constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ASCII case-insensitive equality.
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Whether a request's Origin (or the origin of its Referer) is `allowed`, a configured origin
// (cors_origins, publish_origins) as the reference hub reads them: "*" allows any; otherwise
// compared ignoring case, and a "*" inside stands for any text ("https://*.example.com": every
// subdomain, over https). "null" (an opaque origin) is allowed only by "null" or "*".
[[nodiscard]] constexpr bool origin_matches(std::string_view origin, std::string_view allowed) {
  if (allowed == "*") return true;
  const auto star = allowed.find('*');
  if (star == std::string_view::npos) return iequals(origin, allowed);
  const auto prefix = allowed.substr(0, star);
  const auto suffix = allowed.substr(star + 1);
  return origin.size() >= prefix.size() + suffix.size() && iequals(origin.substr(0, prefix.size()), prefix) &&
         iequals(origin.substr(origin.size() - suffix.size()), suffix);
}

}  // namespace mercure
