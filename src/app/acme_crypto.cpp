#include "app/acme_crypto.hpp"

#include "core/base64url.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

namespace mercure::acme {

namespace {

using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BnPtr = OpenSslPtr<BIGNUM, BN_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using ExtPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using ObjPtr = OpenSslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using OctetsPtr = OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;

// id-pe-acmeIdentifier (RFC 8737 section 6.1).
constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";
constexpr int kCommonNameMax = 64;  // ub-common-name: a longer name goes in subjectAltName only

Error failure(const std::string& what) {
  std::string reason = what;
  if (const unsigned long e = ERR_get_error(); e != 0) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    reason += ": ";
    reason += text;
  }
  ERR_clear_error();
  return Error{Errc::internal, reason};
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> md{};
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return md;
}

Result<std::string> coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return failure("not a P-256 key");
  const BnPtr bn(raw);
  std::array<unsigned char, 32> bytes{};
  if (BN_bn2binpad(bn.get(), bytes.data(), static_cast<int>(bytes.size())) != static_cast<int>(bytes.size())) {
    return failure("not a P-256 key");
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// The subject (CN when short enough) and the subjectAltName of a certificate or a request.
Result<ExtPtr> subject_alt_name(std::string_view domain) {
  const std::string value = "DNS:" + std::string(domain);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str()));
  if (!ext) return failure("cannot build a subjectAltName for \"" + std::string(domain) + "\"");
  return ext;
}

bool set_common_name(X509_NAME* name, std::string_view domain) {
  if (domain.size() > static_cast<std::size_t>(kCommonNameMax)) return true;
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(domain.data()),
                                    static_cast<int>(domain.size()), -1, 0) == 1;
}

}  // namespace

Result<EvpPkeyPtr> generate_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return failure("cannot generate a P-256 key");
  return key;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  const BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return failure("cannot write a private key");
  }
  return bio_text(out.get());
}

Result<std::string> jwk(EVP_PKEY* key) {
  auto x = coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X);
  if (!x) return x.error();
  auto y = coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!y) return y.error();
  return R"({"crv":"P-256","kty":"EC","x":")" + *x + R"(","y":")" + *y + R"("})";
}

Result<std::string> jwk_thumbprint(EVP_PKEY* key) {
  auto json = jwk(key);
  if (!json) return json.error();
  const auto md = sha256(*json);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

Result<std::string> sign_request(EVP_PKEY* key, std::string_view protected_json, std::string_view payload) {
  static const auto digest = fetch_jwt_digest(JwtAlgorithm::ES256);
  if (!digest) return digest.error();
  const std::string header = base64url_encode(protected_json);
  const std::string body = base64url_encode(payload);
  auto signature = sign_asymmetric(JwtAlgorithm::ES256, key, digest->get(), header + "." + body);
  if (!signature) return signature.error();
  return R"({"protected":")" + header + R"(","payload":")" + body + R"(","signature":")" +
         base64url_encode(*signature) + R"("})";
}

Result<std::string> csr_der(EVP_PKEY* key, std::string_view domain) {
  const ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      !set_common_name(X509_REQ_get_subject_name(req.get()), domain) || X509_REQ_set_pubkey(req.get(), key) != 1) {
    return failure("cannot build a certificate request");
  }
  auto san = subject_alt_name(domain);
  if (!san) return san.error();
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  const bool added =
      exts != nullptr && sk_X509_EXTENSION_push(exts, san->get()) > 0 && X509_REQ_add_extensions(req.get(), exts) == 1;
  sk_X509_EXTENSION_free(exts);  // the extension itself stays owned by `san`
  if (!added || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return failure("cannot sign a certificate request");
  const int size = i2d_X509_REQ(req.get(), nullptr);
  if (size <= 0) return failure("cannot encode a certificate request");
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

Result<ChallengeCertificate> challenge_certificate(std::string_view domain, std::string_view key_authorization) {
  auto key = generate_key();
  if (!key) return key.error();
  const X509Ptr cert(X509_new());
  std::array<unsigned char, 8> serial{};
  if (!cert || RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1)
    return failure("cannot build a certificate");
  serial[0] &= 0x7F;  // positive
  const BnPtr serial_bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!serial_bn || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 86'400) == nullptr ||
      X509_set_pubkey(cert.get(), key->get()) != 1 || !set_common_name(name, domain) ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return failure("cannot build a certificate");
  }
  auto san = subject_alt_name(domain);
  if (!san) return san.error();
  // extnValue = DER of Authorization ::= OCTET STRING (SIZE (32)): tag 4, length 32, the hash.
  const auto md = sha256(key_authorization);
  std::array<unsigned char, 34> der{0x04, 0x20};
  std::copy(md.begin(), md.end(), der.begin() + 2);
  const ObjPtr oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  const OctetsPtr value(ASN1_OCTET_STRING_new());
  if (!oid || !value || ASN1_OCTET_STRING_set(value.get(), der.data(), static_cast<int>(der.size())) != 1) {
    return failure("cannot build the acmeIdentifier extension");
  }
  const ExtPtr identifier(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  if (!identifier || X509_add_ext(cert.get(), san->get(), -1) != 1 ||
      X509_add_ext(cert.get(), identifier.get(), -1) != 1 || X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0) {
    return failure("cannot sign the challenge certificate");
  }
  const BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) return failure("cannot write a certificate");
  auto key_pem = private_key_pem(key->get());
  if (!key_pem) return key_pem.error();
  return ChallengeCertificate{bio_text(out.get()), std::move(*key_pem)};
}

bool certificate_covers(std::string_view pem_chain, std::string_view domain) {
  const BioPtr in(BIO_new_mem_buf(pem_chain.data(), static_cast<int>(pem_chain.size())));
  const X509Ptr cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
  const bool covers =
      cert && X509_check_host(cert.get(), domain.data(), domain.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
  ERR_clear_error();
  return covers;
}

Result<Validity> certificate_validity(std::string_view pem_chain) {
  const BioPtr in(BIO_new_mem_buf(pem_chain.data(), static_cast<int>(pem_chain.size())));
  const X509Ptr cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return failure("not a PEM certificate");
  const auto seconds = [](const ASN1_TIME* t) -> std::int64_t {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
  };
  return Validity{seconds(X509_get0_notBefore(cert.get())), seconds(X509_get0_notAfter(cert.get()))};
}

}  // namespace mercure::acme
