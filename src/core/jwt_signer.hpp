#pragma once
// Mints compact JWS tokens (RFC 7515) with the header {"alg":"<alg>","typ":"JWT"}: for the
// `mercure-hub token` command and for tests. Not used on the request path.
// Thread-safety: pure function (parses the key on every call).

#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"

#include <string>
#include <string_view>

namespace mercure {

// `key`: the HMAC secret for HS* (same rules as JwtVerifier: non-empty, not a PEM document), else
// an unencrypted PEM private key matching `alg` (RSA >= 2048 bits, the algorithm's curve, Ed25519
// or Ed448). `claims_json` must be a JSON object without duplicate keys; it is signed byte for
// byte as given. ES* signatures are emitted as JOSE R||S; PS* uses salt length = hash length.
// Errors are Errc::bad_request (bad key or claims) or Errc::internal (OpenSSL failure).
[[nodiscard]] Result<std::string> sign_jwt(JwtAlgorithm alg, std::string_view key, std::string_view claims_json);

}  // namespace mercure
