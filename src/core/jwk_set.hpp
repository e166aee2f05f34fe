#pragma once
// A JSON Web Key Set (RFC 7517 section 5) read into verification keys: what an identity provider
// publishes at its `jwks_uri`, and what `publisher_jwks_url` / `subscriber_jwks_url` point at.
//
// Each key is read by its `kty`: RSA (`n`, `e`), EC (`crv` P-256/P-384/P-521, `x`, `y`), OKP
// (`crv` Ed25519/Ed448, `x`). Only the public half is kept; private members are ignored.
// Symmetric (`oct`) keys are left out: a key set is published, so whoever can read it could sign
// with a secret in it. A key may verify only the algorithms of its type (RSA: RS*/PS*, EC: the
// ES* of its curve, OKP: EdDSA), narrowed to its `alg` when it has one (`Ed25519`/`Ed448` count as
// EdDSA), and only those its size allows (RSA >= 2048 bits, exponent odd and at most 32 bits).
// A key whose `use` is not "sig", whose `key_ops` lacks "verify", whose `kty`, `kid`, `alg`, `use`,
// `crv` or `key_ops` has the wrong JSON type, or that cannot be read is left out; each one left out
// is named in `skipped` with the reason (the set is still usable). Base64url members may carry
// `=` padding, and EC coordinates may lack leading zero bytes (as jose and keyfunc accept). A
// document that is not a JSON object with a `keys` array is an error.
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
  EvpPkeyPtr key;                        // the public key
};

struct JwkSet {
  std::vector<Jwk> keys;
  std::vector<std::string> skipped;    // one line per key left out: `key 2 (kid "x"): reason`
  std::size_t not_for_signatures = 0;  // how many of them are for encryption (`use`, `key_ops`)
};

// Reads `json`. Errc::bad_request with a one-line reason when it is not a key set at all.
[[nodiscard]] Result<JwkSet> parse_jwk_set(std::string_view json);

}  // namespace mercure
