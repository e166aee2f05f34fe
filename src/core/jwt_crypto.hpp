#pragma once
// OpenSSL 3 building blocks shared by JwtVerifier and sign_jwt: owning handles, PEM key loading,
// key/algorithm matching, and the per-algorithm sign/verify primitives (JWS, RFC 7515/7518/8037).
// Internal to src/core: request-path code goes through JwtVerifier.
// Thread-safety: free functions are reentrant. A loaded EVP_PKEY / fetched EVP_MD / EVP_MAC may be
// shared read-only by concurrent calls (each call allocates its own EVP_MD_CTX / EVP_MAC_CTX).
// Every failing function leaves this thread's OpenSSL error queue empty, so unrelated code (TLS)
// never sees a stale error.

#include "core/error.hpp"
#include "core/jwt_algorithm.hpp"

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace mercure {

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct EvpMdDeleter {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct EvpMacDeleter {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// An owning handle for any other OpenSSL object: OpenSslPtr<BIGNUM, BN_free>.
template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<Free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, EvpMdDeleter>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, EvpMacDeleter>;

// Smallest RSA modulus accepted, in bits (RFC 7518 section 3.3).
inline constexpr int kMinRsaBits = 2048;

// The hash of `alg` (SHA-256/384/512), fetched once; nullptr for EdDSA, which hashes internally.
[[nodiscard]] Result<EvpMdPtr> fetch_jwt_digest(JwtAlgorithm alg);

// The HMAC implementation, fetched once (for HS*).
[[nodiscard]] Result<EvpMacPtr> fetch_hmac();

// A public key from PEM: SubjectPublicKeyInfo ("PUBLIC KEY"), PKCS#1 ("RSA PUBLIC KEY"), an X.509
// "CERTIFICATE", or an unencrypted private key (PKCS#8, PKCS#1, SEC1) reduced to its public half.
[[nodiscard]] Result<EvpPkeyPtr> load_public_key_pem(std::string_view pem);

// An unencrypted private key from PEM (PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY").
[[nodiscard]] Result<EvpPkeyPtr> load_private_key_pem(std::string_view pem);

// Checks that `key` fits `alg` (RSA >= 2048 bits for RS*/PS*, the right curve for ES*, Ed25519 or
// Ed448 for EdDSA). `alg` must not be HS*.
[[nodiscard]] Result<void> check_key_for_algorithm(JwtAlgorithm alg, EVP_PKEY* key);

// Rejects an HMAC secret that cannot be safe: empty, or a PEM document (a public key configured
// as a secret would let anyone holding the public key mint tokens).
[[nodiscard]] Result<void> check_hmac_secret(std::string_view secret);

// HMAC of `data` with `md` (HS*), as raw bytes.
[[nodiscard]] Result<std::string> hmac(EVP_MAC* mac, const EVP_MD* md, std::string_view secret, std::string_view data);

// Verifies a JWS signature in its JOSE encoding (raw R||S for ES*) made with an asymmetric `alg`.
// Returns an unauthorized Error naming the failed check.
[[nodiscard]] Result<void> verify_asymmetric(JwtAlgorithm alg, EVP_PKEY* key, const EVP_MD* md,
                                             std::string_view signing_input, std::string_view signature);

// Signs with an asymmetric `alg` and returns the signature in its JOSE encoding (raw R||S for ES*).
[[nodiscard]] Result<std::string> sign_asymmetric(JwtAlgorithm alg, EVP_PKEY* key, const EVP_MD* md,
                                                  std::string_view signing_input);

}  // namespace mercure
