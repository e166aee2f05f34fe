#pragma once
// The JWS algorithms the hub accepts (RFC 7518 section 3, RFC 8037 for EdDSA), by their JOSE names.
// Thread-safety: pure functions.

#include <optional>
#include <string_view>

namespace mercure {

enum class JwtAlgorithm { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

// Exact, case-sensitive JOSE name ("HS256", ..., "EdDSA"); anything else, "none" included, is nullopt.
[[nodiscard]] std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name) noexcept;

// The JOSE name, as written in a token's `alg` header.
[[nodiscard]] std::string_view to_string(JwtAlgorithm alg) noexcept;

// HS256/HS384/HS512: the key is a shared secret rather than a PEM key.
[[nodiscard]] bool is_hmac(JwtAlgorithm alg) noexcept;

}  // namespace mercure
