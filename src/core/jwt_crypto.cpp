#include "core/jwt_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <cstring>
#include <optional>

namespace mercure {

namespace {

// Clears this thread's OpenSSL error queue on every exit path (see the header's contract).
struct ErrorQueueGuard {
  ErrorQueueGuard() = default;
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct DecoderCtxDeleter {
  void operator()(OSSL_DECODER_CTX* p) const noexcept { OSSL_DECODER_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct BignumDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct OpensslBytesDeleter {
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using DecoderCtxPtr = std::unique_ptr<OSSL_DECODER_CTX, DecoderCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using OpensslBytesPtr = std::unique_ptr<unsigned char, OpensslBytesDeleter>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool is_rsa_pkcs1(JwtAlgorithm a) {
  return a == JwtAlgorithm::RS256 || a == JwtAlgorithm::RS384 || a == JwtAlgorithm::RS512;
}
bool is_rsa_pss(JwtAlgorithm a) {
  return a == JwtAlgorithm::PS256 || a == JwtAlgorithm::PS384 || a == JwtAlgorithm::PS512;
}

// ES*: the curve and the size of each of R and S in the JOSE encoding (RFC 7518 section 3.4).
struct EcdsaCurve {
  int nid;
  const char* jose_name;
  std::size_t component_size;
};
std::optional<EcdsaCurve> curve_of(JwtAlgorithm a) {
  switch (a) {
    case JwtAlgorithm::ES256:
      return EcdsaCurve{NID_X9_62_prime256v1, "P-256", 32};
    case JwtAlgorithm::ES384:
      return EcdsaCurve{NID_secp384r1, "P-384", 48};
    case JwtAlgorithm::ES512:
      return EcdsaCurve{NID_secp521r1, "P-521", 66};
    default:
      return std::nullopt;
  }
}

// Never prompts for a passphrase: encrypted keys are refused instead of blocking start-up on a tty.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}
int refuse_decoder_passphrase(char* /*pass*/, size_t /*pass_size*/, size_t* /*pass_len*/, const OSSL_PARAM[] /*params*/,
                              void* /*arg*/) {
  return 0;
}

Result<BioPtr> memory_bio(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) return Error{Errc::bad_request, "key is too large"};
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error{Errc::internal, "out of memory reading a PEM key"};
  return bio;
}

// Decodes any PEM key OpenSSL knows; `selection` restricts it to private keys when needed.
Result<EvpPkeyPtr> decode_pem_key(std::string_view pem, int selection) {
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
      pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
    return Error{Errc::bad_request, "encrypted PEM private keys are not supported (decrypt the key first)"};
  }
  auto bio = memory_bio(pem);
  if (!bio) return bio.error();
  EVP_PKEY* raw = nullptr;
  DecoderCtxPtr dctx(OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr, selection, nullptr, nullptr));
  if (!dctx) return Error{Errc::internal, "cannot create an OpenSSL PEM decoder"};
  OSSL_DECODER_CTX_set_passphrase_cb(dctx.get(), refuse_decoder_passphrase, nullptr);
  const bool ok = OSSL_DECODER_from_bio(dctx.get(), bio->get()) == 1;
  EvpPkeyPtr key(raw);
  if (!ok || !key) return Error{Errc::bad_request, "key is not a PEM public key, certificate or private key"};
  return key;
}

// Re-encodes a key as SubjectPublicKeyInfo, so a verifier never keeps private material in memory.
Result<EvpPkeyPtr> public_half(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  OpensslBytesPtr owned(der);
  if (len <= 0) return Error{Errc::bad_request, "cannot derive a public key from the PEM key"};
  const unsigned char* p = der;
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  if (!pub) return Error{Errc::bad_request, "cannot derive a public key from the PEM key"};
  return pub;
}

Result<void> configure_padding(JwtAlgorithm alg, EVP_PKEY_CTX* pctx, const EVP_MD* md) {
  if (is_rsa_pss(alg)) {
    // RFC 7518 section 3.5: salt length = hash length, MGF1 with the same hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return Error{Errc::unauthorized, "key refuses RSA-PSS parameters of " + std::string(to_string(alg))};
    }
  } else if (is_rsa_pkcs1(alg)) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return Error{Errc::unauthorized, "key refuses PKCS#1 v1.5 padding"};
    }
  }
  return {};
}

Result<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t component) {
  BignumPtr r(BN_bin2bn(bytes(raw), static_cast<int>(component), nullptr));
  BignumPtr s(BN_bin2bn(bytes(raw) + component, static_cast<int>(component), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return Error{Errc::internal, "out of memory converting an ECDSA signature"};
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return Error{Errc::internal, "cannot build an ECDSA signature"};
  static_cast<void>(r.release());  // now owned by sig
  static_cast<void>(s.release());
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return Error{Errc::internal, "cannot encode an ECDSA signature"};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return Error{Errc::internal, "cannot encode an ECDSA signature"};
  return der;
}

Result<std::string> ecdsa_der_to_raw(std::string_view der, std::size_t component) {
  const unsigned char* p = bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return Error{Errc::internal, "OpenSSL produced an unreadable ECDSA signature"};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(component * 2, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(component)) < 0 ||
      BN_bn2binpad(s, out + component, static_cast<int>(component)) < 0) {
    return Error{Errc::internal, "ECDSA signature component too large"};
  }
  return raw;
}

}  // namespace

Result<EvpMdPtr> fetch_jwt_digest(JwtAlgorithm alg) {
  ErrorQueueGuard guard;
  const char* name = nullptr;
  switch (alg) {
    case JwtAlgorithm::HS256:
    case JwtAlgorithm::RS256:
    case JwtAlgorithm::PS256:
    case JwtAlgorithm::ES256:
      name = "SHA256";
      break;
    case JwtAlgorithm::HS384:
    case JwtAlgorithm::RS384:
    case JwtAlgorithm::PS384:
    case JwtAlgorithm::ES384:
      name = "SHA384";
      break;
    case JwtAlgorithm::HS512:
    case JwtAlgorithm::RS512:
    case JwtAlgorithm::PS512:
    case JwtAlgorithm::ES512:
      name = "SHA512";
      break;
    case JwtAlgorithm::EdDSA:
      return EvpMdPtr{};
  }
  EvpMdPtr md(EVP_MD_fetch(nullptr, name, nullptr));
  if (!md) return Error{Errc::internal, std::string("OpenSSL has no ") + name};
  return md;
}

Result<EvpMacPtr> fetch_hmac() {
  ErrorQueueGuard guard;
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return Error{Errc::internal, "OpenSSL has no HMAC"};
  return mac;
}

Result<EvpPkeyPtr> load_public_key_pem(std::string_view pem) {
  ErrorQueueGuard guard;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    auto bio = memory_bio(pem);
    if (!bio) return bio.error();
    X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, refuse_passphrase, nullptr));
    if (!cert) return Error{Errc::bad_request, "key is not a readable PEM certificate"};
    EvpPkeyPtr key(X509_get_pubkey(cert.get()));
    if (!key) return Error{Errc::bad_request, "certificate has no usable public key"};
    return key;
  }
  auto key = decode_pem_key(pem, 0);
  if (!key) return key.error();
  return public_half(key->get());
}

Result<EvpPkeyPtr> load_private_key_pem(std::string_view pem) {
  ErrorQueueGuard guard;
  auto key = decode_pem_key(pem, EVP_PKEY_KEYPAIR);
  if (!key) return Error{Errc::bad_request, "key is not a PEM private key"};
  return key;
}

Result<void> check_key_for_algorithm(JwtAlgorithm alg, EVP_PKEY* key) {
  ErrorQueueGuard guard;
  const std::string name(to_string(alg));
  const char* type = EVP_PKEY_get0_type_name(key);
  const std::string actual = type != nullptr ? type : "unknown";
  if (is_rsa_pkcs1(alg) || is_rsa_pss(alg)) {
    const bool rsa = EVP_PKEY_is_a(key, "RSA") == 1 || (is_rsa_pss(alg) && EVP_PKEY_is_a(key, "RSA-PSS") == 1);
    if (!rsa) return Error{Errc::bad_request, name + " requires an RSA key, got " + actual};
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits) {
      return Error{Errc::bad_request, "RSA key has " + std::to_string(bits) + " bits; at least " +
                                          std::to_string(kMinRsaBits) + " are required"};
    }
    return {};
  }
  if (auto curve = curve_of(alg)) {
    if (EVP_PKEY_is_a(key, "EC") != 1) return Error{Errc::bad_request, name + " requires an EC key, got " + actual};
    char group[80] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
      return Error{Errc::bad_request, "EC key has no named curve"};
    }
    int nid = OBJ_txt2nid(group);
    if (nid == NID_undef) nid = EC_curve_nist2nid(group);
    if (nid != curve->nid) {
      const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
      return Error{Errc::bad_request,
                   name + " requires a " + curve->jose_name + " key, got curve " + (nist != nullptr ? nist : group)};
    }
    return {};
  }
  if (alg == JwtAlgorithm::EdDSA) {
    if (EVP_PKEY_is_a(key, "ED25519") != 1 && EVP_PKEY_is_a(key, "ED448") != 1) {
      return Error{Errc::bad_request, "EdDSA requires an Ed25519 or Ed448 key, got " + actual};
    }
    return {};
  }
  return Error{Errc::internal, name + " does not use a PEM key"};
}

Result<void> check_hmac_secret(std::string_view secret) {
  if (secret.empty()) return Error{Errc::bad_request, "HMAC secret is empty"};
  if (secret.find("-----BEGIN ") != std::string_view::npos) {
    return Error{Errc::bad_request,
                 "HMAC secret looks like a PEM key or certificate; configure the algorithm that matches the key"};
  }
  return {};
}

Result<std::string> hmac(EVP_MAC* mac, const EVP_MD* md, std::string_view secret, std::string_view data) {
  ErrorQueueGuard guard;
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return Error{Errc::internal, "out of memory computing an HMAC"};
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_end(),
  };
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), bytes(secret), secret.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), bytes(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &out_len, sizeof out) != 1) {
    return Error{Errc::internal, "HMAC computation failed"};
  }
  std::string result(reinterpret_cast<const char*>(out), out_len);
  OPENSSL_cleanse(out, sizeof out);
  return result;
}

Result<void> verify_asymmetric(JwtAlgorithm alg, EVP_PKEY* key, const EVP_MD* md, std::string_view signing_input,
                               std::string_view signature) {
  ErrorQueueGuard guard;
  std::string der;
  std::string_view to_check = signature;
  if (auto curve = curve_of(alg)) {
    if (signature.size() != curve->component_size * 2) {
      return Error{Errc::unauthorized, "signature has wrong length (" + std::to_string(signature.size()) +
                                           " bytes, expected " + std::to_string(curve->component_size * 2) + ")"};
    }
    auto converted = ecdsa_raw_to_der(signature, curve->component_size);
    if (!converted) return converted.error();
    der = std::move(*converted);
    to_check = der;
  } else if (is_rsa_pkcs1(alg) || is_rsa_pss(alg)) {
    // OpenSSL would accept a signature shorter than the modulus (as if left-padded with zeros);
    // JWS fixes the length, so enforce it and keep signatures non-malleable.
    const auto expected = static_cast<std::size_t>(EVP_PKEY_get_size(key));
    if (signature.size() != expected) {
      return Error{Errc::unauthorized, "signature has wrong length (" + std::to_string(signature.size()) +
                                           " bytes, expected " + std::to_string(expected) + ")"};
    }
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Error{Errc::internal, "out of memory verifying a signature"};
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return Error{Errc::internal, "cannot initialise " + std::string(to_string(alg)) + " verification"};
  }
  if (auto padded = configure_padding(alg, pctx, md); !padded) return padded.error();
  if (EVP_DigestVerify(ctx.get(), bytes(to_check), to_check.size(), bytes(signing_input), signing_input.size()) != 1) {
    return Error{Errc::unauthorized, "signature mismatch"};
  }
  return {};
}

Result<std::string> sign_asymmetric(JwtAlgorithm alg, EVP_PKEY* key, const EVP_MD* md, std::string_view signing_input) {
  ErrorQueueGuard guard;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Error{Errc::internal, "out of memory signing"};
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return Error{Errc::internal, "cannot initialise " + std::string(to_string(alg)) + " signing"};
  }
  if (auto padded = configure_padding(alg, pctx, md); !padded) return Error{Errc::bad_request, padded.error().reason};
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes(signing_input), signing_input.size()) != 1) {
    return Error{Errc::internal, std::string(to_string(alg)) + " signing failed"};
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(signing_input),
                     signing_input.size()) != 1) {
    return Error{Errc::internal, std::string(to_string(alg)) + " signing failed"};
  }
  sig.resize(len);
  if (auto curve = curve_of(alg)) return ecdsa_der_to_raw(sig, curve->component_size);
  return sig;
}

}  // namespace mercure
