#include "http/request_auth.hpp"

#include "core/jwt_verifier.hpp"
#include "http/header_text.hpp"

#include <algorithm>

namespace mercure {

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim_ows(pair.substr(0, eq)) != name) continue;
    auto value = trim_ows(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

Result<FoundToken> find_token(std::string_view authorization_header, const std::string* query_token,
                              std::string_view cookie_header, std::string_view cookie_name) {
  if (!authorization_header.empty()) {
    if (!iequals(authorization_header.substr(0, 7), "Bearer ")) {
      return Error{Errc::unauthorized, "Authorization header is not a Bearer token", kJwtCheckFormat};
    }
    auto token = trim_ows(authorization_header.substr(7));
    if (token.empty()) return Error{Errc::unauthorized, "empty Bearer token", kJwtCheckFormat};
    return FoundToken{TokenSource::header, token};
  }
  if (query_token != nullptr) {
    if (query_token->empty()) return Error{Errc::unauthorized, "empty authorization query parameter", kJwtCheckFormat};
    return FoundToken{TokenSource::query, *query_token};
  }
  if (!cookie_header.empty()) {
    auto value = cookie_value(cookie_header, cookie_name);
    if (!value.empty()) return FoundToken{TokenSource::cookie, value};
  }
  return FoundToken{};
}

std::string origin_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  auto rest = url.substr(scheme_end + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  if (authority.empty()) return {};
  return std::string(url.substr(0, scheme_end + 3)) + std::string(authority);
}

Result<void> check_publish_origin(std::string_view origin, std::string_view referer,
                                  const std::vector<std::string>& allowed) {
  // "null" (a sandboxed or opaque document) is an Origin: no Referer stands in for it.
  std::string effective(origin);
  if (effective.empty()) effective = origin_of(referer);
  if (effective.empty()) {
    return Error{Errc::unauthorized, "cookie-authenticated publish without Origin or Referer header", kJwtCheckOrigin};
  }
  const bool ok =
      std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return origin_matches(effective, a); });
  if (!ok) return Error{Errc::unauthorized, "origin \"" + effective + "\" is not in publish_origins", kJwtCheckOrigin};
  return {};
}

}  // namespace mercure
