#pragma once
// A JSON Web Key Set (RFC 7517 section 5) read into verification keys: what an identity provider
// publishes at its `jwks_uri`, and what `publisher_jwks_url` / `subscriber_jwks_url` point at.
//
// Each key is read by its `kty`: RSA (`n`, `e`), EC (`crv` P-256/P-384/P-521, `x`, `y`), OKP
// (`crv` Ed25519/Ed448, `x`), oct (`k`, an HMAC secret). Only the public half is kept; private
// members are ignored. A key may verify only the algorithms of its type (RSA: RS*/PS*, EC: the
// ES* of its curve, OKP: EdDSA, oct: HS*), narrowed to its `alg` when it has one, and only those
// its size allows (RSA >= 2048 bits, the hash size for HS*): HS/RS confusion cannot happen.
// A key whose `use` is not "sig", or whose `key_ops` lacks "verify", is left out, as is a key that
// cannot be read; each one left out is named in `skipped` with the reason (the set is still
// usable). A document that is not a JSON object with a `keys` array is an error.
//
// Thread-safety: a JwkSet is plain data; its EVP_PKEYs may be shared read-only between threads.

#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_crypto.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mercure {

struct Jwk {
  std::string kid;                       // empty when the key has none
  std::vector<JwtAlgorithm> algorithms;  // what it may verify; never empty
  EvpPkeyPtr key;                        // asymmetric keys: the public key
  std::string secret;                    // oct keys: the HMAC secret
};

struct JwkSet {
  std::vector<Jwk> keys;
  std::vector<std::string> skipped;  // one line per key left out: `key 2 (kid "x"): reason`
};

// Reads `json`. Errc::bad_request with a one-line reason when it is not a key set at all.
[[nodiscard]] Result<JwkSet> parse_jwk_set(std::string_view json);

}  // namespace mercure
