#pragma once
// Verifies compact JWS tokens (RFC 7515/7519) signed with one configured algorithm and key, and
// extracts the Mercure claims. Our own implementation on OpenSSL 3 EVP; no JWT library.
//
// Security contract:
// - The algorithm is pinned by configuration: the header's `alg` must equal it exactly, so `none`
//   and HS/RS confusion are impossible (an asymmetric verifier never uses its key as an HMAC
//   secret; an HS* verifier refuses asymmetric tokens and refuses a PEM document as its secret).
// - Headers `kid`, `jku`, `x5u`, `x5c`, `jwk`, `typ`, `cty` are ignored: nothing is ever fetched
//   (KeySetVerifier picks a verifier by `kid` among the keys of a configured key set).
//   A `crit` header is refused (no JWS extension is understood, RFC 7515 section 4.1.11).
// - Tokens over kMaxTokenSize bytes are refused before any decoding. Base64url is strict (no
//   padding, no other characters, canonical). Header and claims must be JSON objects without
//   duplicate keys. HMAC tags are compared in constant time. ES* signatures are JOSE R||S of
//   exactly 64/96/132 bytes; RSA signatures must be exactly the modulus size; RSA keys must have at
//   least 2048 bits; PS* uses salt length = hash length and MGF1 with the same hash.
// - Time: rejected when now >= exp, now < nbf, or now < iat (PROTOCOL.md enforces iat when
//   present, as golang-jwt v4 in older reference hubs did). No leeway. Absent exp/nbf/iat are not
//   required.
// - Claims: `mercure` object (or `https://mercure.rocks/` when `mercure` is absent or null) with
//   `publish`/`subscribe` arrays of strings and any `payload`; wrong JSON types are refused.
//   JSON null counts as absent everywhere.
// Every rejection is Errc::unauthorized with a one-line reason, and Error::check set to the slug of
// the failed check (kJwtCheck* below) for logs and metrics. The token itself is never quoted.
//
// Thread-safety: immutable after create(); verify() may run concurrently from any number of
// threads (the EVP_PKEY / EVP_MD / EVP_MAC are shared read-only, each call has its own context).

#include "core/claims.hpp"
#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/jwt_crypto.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mercure {

// Error::check values of a token rejection (missing and origin are set by the HTTP layer, key by
// the Authorizer).
inline constexpr std::string_view kJwtCheckMissing = "missing";      // no token where one is required
inline constexpr std::string_view kJwtCheckFormat = "format";        // not a well-formed compact JWS
inline constexpr std::string_view kJwtCheckAlg = "alg";              // alg none, or not the configured one
inline constexpr std::string_view kJwtCheckCrit = "crit";            // a crit header (unsupported extension)
inline constexpr std::string_view kJwtCheckSignature = "signature";  // the signature does not verify
inline constexpr std::string_view kJwtCheckClaims = "claims";        // a claim of the wrong JSON type
inline constexpr std::string_view kJwtCheckExp = "exp";              // expired
inline constexpr std::string_view kJwtCheckNbf = "nbf";              // not valid yet
inline constexpr std::string_view kJwtCheckIat = "iat";              // issued in the future
inline constexpr std::string_view kJwtCheckKey = "key";              // no key configured for the role
inline constexpr std::string_view kJwtCheckKid = "kid";              // no key of the role's key set has this kid
inline constexpr std::string_view kJwtCheckOrigin = "origin";        // CSRF: cookie token from a foreign origin

class JwtVerifier final {
 public:
  static constexpr std::size_t kMaxTokenSize = std::size_t{64} * 1024;

  // Start-up: parses the key once. `key` is the HMAC secret (raw bytes) for HS*, else PEM: a public
  // key (SPKI or PKCS#1), a certificate, or an unencrypted private key (only its public half is
  // kept). Fails (Errc::bad_request) on an unreadable key, a key of the wrong type or curve, an RSA
  // key under 2048 bits, an empty secret, or a secret that is a PEM document.
  [[nodiscard]] static Result<JwtVerifier> create(JwtAlgorithm alg, std::string_view key);
  // The same for a public key already loaded (from a JSON Web Key Set), shared with its owner
  // (reference counted). Fails when `key` does not fit `alg`; `alg` must not be HS*.
  [[nodiscard]] static Result<JwtVerifier> create_for_key(JwtAlgorithm alg, EVP_PKEY* key);

  // Checks `token` (compact JWS, no "Bearer " prefix) at time `now_unix_seconds`.
  [[nodiscard]] Result<Claims> verify(std::string_view token, std::int64_t now_unix_seconds) const;
  // verify() in two halves: everything that depends on the token's bytes only (format, alg,
  // signature, claim types), then the time window. A result of the first half may be reused for
  // the identical token (VerifiedTokenCache); the second half must run at every use.
  [[nodiscard]] Result<Claims> verify_untimed(std::string_view token) const;
  // exp and nbf exactly; iat at most kIatLeewaySeconds ahead of `now_unix_seconds`.
  [[nodiscard]] static Result<void> check_time(const Claims& claims, std::int64_t now_unix_seconds);
  static constexpr std::int64_t kIatLeewaySeconds = 60;

  [[nodiscard]] JwtAlgorithm algorithm() const noexcept { return alg_; }

  JwtVerifier(JwtVerifier&&) noexcept = default;
  JwtVerifier& operator=(JwtVerifier&&) noexcept = default;
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;
  ~JwtVerifier();

 private:
  explicit JwtVerifier(JwtAlgorithm alg) : alg_(alg) {}

  [[nodiscard]] Result<void> check_signature(std::string_view signing_input, std::string_view signature) const;

  JwtAlgorithm alg_;
  std::string secret_;  // HS* only
  EvpPkeyPtr key_;      // asymmetric only, public half
  EvpMdPtr md_;         // null for EdDSA
  EvpMacPtr mac_;       // HS* only
};

}  // namespace mercure
