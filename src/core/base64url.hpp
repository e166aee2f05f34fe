#pragma once
// Base64url without padding (RFC 4648 section 5, as JWS uses it: RFC 7515 section 2).
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace mercure {

// Alphabet A-Z a-z 0-9 '-' '_', no '=' padding, no line breaks.
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

// Strict inverse of base64url_encode: nullopt for any character outside the alphabet (including
// '=', '+', '/', whitespace), for a length of 4n+1, and for non-zero unused bits in the last
// character, so every byte string has exactly one accepted encoding. Empty input -> empty output.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace mercure
