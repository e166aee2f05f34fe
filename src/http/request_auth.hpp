#pragma once
// Finding the caller's token in a request (header, then query, then cookie) and the CSRF
// check for cookie-authenticated publishing. Pure functions over header values.

#include "core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mercure {

enum class TokenSource { none, header, query, cookie };

// `token` points into the header, query parameter or cookie header it was found in.
struct FoundToken {
  TokenSource source = TokenSource::none;
  std::string_view token;
};

// `authorization_header`: the Authorization header value (empty if absent).
// `query_token`: the `authorization` query parameter (nullptr if absent).
// `cookie_header`: the Cookie header value (empty if absent).
[[nodiscard]] Result<FoundToken> find_token(std::string_view authorization_header, const std::string* query_token,
                                            std::string_view cookie_header, std::string_view cookie_name);

// Value of cookie `name` in a Cookie header (a part of it), or empty.
[[nodiscard]] std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// The origin (scheme://host[:port]) of a Referer URL, or empty when it has none.
[[nodiscard]] std::string origin_of(std::string_view url);

// CSRF check for a cookie-authenticated POST: Origin (else Referer's origin) must be in
// `allowed` ("*" allows any). Returns an unauthorized error naming what failed.
[[nodiscard]] Result<void> check_publish_origin(std::string_view origin, std::string_view referer,
                                                const std::vector<std::string>& allowed);

}  // namespace mercure
