#pragma once
// The cryptography of an ACME client (RFC 8555) with TLS-ALPN-01 challenges (RFC 8737): P-256
// keys, the account key's JWK and thumbprint (RFC 7638), JWS requests in the flattened JSON
// serialization signed with ES256, certificate signing requests, and the self-signed certificate
// that answers a TLS-ALPN-01 challenge.
// Thread-safety: pure functions (keys may be shared read-only).

#include "core/error.hpp"
#include "core/jwt_crypto.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace mercure::acme {

// A fresh P-256 key.
[[nodiscard]] Result<EvpPkeyPtr> generate_key();
// The key as an unencrypted PKCS#8 PEM document.
[[nodiscard]] Result<std::string> private_key_pem(EVP_PKEY* key);

// The public half of a P-256 key as a JWK with its members in lexicographic order and no
// whitespace: {"crv":"P-256","kty":"EC","x":"...","y":"..."} (also the thumbprint's input).
[[nodiscard]] Result<std::string> jwk(EVP_PKEY* key);
// base64url(SHA-256(jwk(key))): the thumbprint that ends a key authorization.
[[nodiscard]] Result<std::string> jwk_thumbprint(EVP_PKEY* key);

// {"protected":..,"payload":..,"signature":..} signed with ES256. `protected_json` is the
// protected header as JSON; an empty `payload` is a POST-as-GET.
[[nodiscard]] Result<std::string> sign_request(EVP_PKEY* key, std::string_view protected_json,
                                               std::string_view payload);

// A PKCS#10 request (DER) for `domain` (subject CN and subjectAltName), signed by `key`.
[[nodiscard]] Result<std::string> csr_der(EVP_PKEY* key, std::string_view domain);

// The certificate that answers a TLS-ALPN-01 challenge for `domain` (RFC 8737 section 3):
// self-signed, subjectAltName = domain, and the critical acmeIdentifier extension holding
// SHA-256(key_authorization). Both as PEM.
struct ChallengeCertificate {
  std::string cert_pem;
  std::string key_pem;
};
[[nodiscard]] Result<ChallengeCertificate> challenge_certificate(std::string_view domain,
                                                                 std::string_view key_authorization);

// notBefore and notAfter (seconds since the epoch) of the first certificate of a PEM chain.
struct Validity {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};
[[nodiscard]] Result<Validity> certificate_validity(std::string_view pem_chain);
// The first certificate of a PEM chain is valid for `domain` (its subjectAltName names it).
[[nodiscard]] bool certificate_covers(std::string_view pem_chain, std::string_view domain);

}  // namespace mercure::acme
