#pragma once
// What the JWT signer's and verifier's tests share: the demo secret and a token's parts.

#include <string>
#include <string_view>

namespace mercure::jwt_test {

inline constexpr std::string_view kSecret = "!ChangeThisMercureHubJWTSecretKey!";

// The header (0), payload (1) or signature (2) of a compact JWS, still base64url-encoded.
inline std::string part(const std::string& token, int index) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  if (index == 0) return token.substr(0, first);
  if (index == 1) return token.substr(first + 1, second - first - 1);
  return token.substr(second + 1);
}

}  // namespace mercure::jwt_test
