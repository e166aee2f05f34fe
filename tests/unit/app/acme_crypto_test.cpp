#include "app/acme_crypto.hpp"
#include "app/acme_manager.hpp"
#include "core/base64url.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/json.hpp>

#include <array>
#include <string>

namespace mercure {
namespace {

std::string sha256(std::string_view data) {
  std::array<unsigned char, 32> md{};
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), md.size());
}

// The DNS names of a certificate's subjectAltName.
std::vector<std::string> dns_names(const X509_EXTENSIONS* exts, X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(cert != nullptr ? X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)
                                                  : X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> out;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                       ASN1_STRING_length(n->d.dNSName));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(AcmeCrypto, TheJwkIsCanonicalAndItsThumbprintIsItsHash) {
  auto key = acme::generate_key();
  ASSERT_TRUE(key);
  auto jwk = acme::jwk(key->get());
  ASSERT_TRUE(jwk);
  const auto parsed = boost::json::parse(*jwk).as_object();
  EXPECT_EQ(parsed.at("kty").as_string(), "EC");
  EXPECT_EQ(parsed.at("crv").as_string(), "P-256");
  EXPECT_EQ(base64url_decode(parsed.at("x").as_string())->size(), 32U);
  EXPECT_EQ(base64url_decode(parsed.at("y").as_string())->size(), 32U);
  // RFC 7638: required members only, lexicographic order, no whitespace.
  EXPECT_EQ(jwk->rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0U) << *jwk;
  EXPECT_EQ(jwk->find(' '), std::string::npos);
  EXPECT_EQ(*acme::jwk_thumbprint(key->get()), base64url_encode(sha256(*jwk)));
  auto other = acme::generate_key();
  EXPECT_NE(*acme::jwk_thumbprint(other->get()), *acme::jwk_thumbprint(key->get()));
}

TEST(AcmeCrypto, RequestsAreFlattenedJwsThatVerifyWithTheAccountKey) {
  auto key = acme::generate_key();
  const std::string header = R"({"alg":"ES256","nonce":"n1","url":"https://ca.test/new-order"})";
  auto signed_request = acme::sign_request(key->get(), header, R"({"identifiers":[]})");
  ASSERT_TRUE(signed_request);
  const auto jws = boost::json::parse(*signed_request).as_object();
  EXPECT_EQ(*base64url_decode(jws.at("protected").as_string()), header);
  EXPECT_EQ(*base64url_decode(jws.at("payload").as_string()), R"({"identifiers":[]})");
  const auto digest = fetch_jwt_digest(JwtAlgorithm::ES256);
  const std::string input =
      std::string(jws.at("protected").as_string()) + "." + std::string(jws.at("payload").as_string());
  const std::string signature = *base64url_decode(jws.at("signature").as_string());
  EXPECT_EQ(signature.size(), 64U);  // JOSE R||S
  EXPECT_TRUE(verify_asymmetric(JwtAlgorithm::ES256, key->get(), digest->get(), input, signature));
  EXPECT_FALSE(verify_asymmetric(JwtAlgorithm::ES256, key->get(), digest->get(), input + "x", signature));
  // POST-as-GET: an empty payload.
  const auto get = boost::json::parse(*acme::sign_request(key->get(), header, "")).as_object();
  EXPECT_EQ(get.at("payload").as_string(), "");
}

TEST(AcmeCrypto, TheCsrNamesTheDomainAndIsSignedByTheCertificateKey) {
  auto key = acme::generate_key();
  auto der = acme::csr_der(key->get(), "hub.example.com");
  ASSERT_TRUE(der);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  EXPECT_EQ(dns_names(exts, nullptr), std::vector<std::string>{"hub.example.com"});
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  // A name longer than a common name may be (64) goes in subjectAltName only.
  const std::string long_name = std::string(70, 'a') + ".example.com";
  EXPECT_TRUE(acme::csr_der(key->get(), long_name));
}

TEST(AcmeCrypto, TheChallengeCertificateCarriesTheCriticalAcmeIdentifier) {
  auto cert = acme::challenge_certificate("hub.example.com", "token.thumbprint");
  ASSERT_TRUE(cert);
  BIO* in = BIO_new_mem_buf(cert->cert_pem.data(), static_cast<int>(cert->cert_pem.size()));
  X509* x = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(dns_names(nullptr, x), std::vector<std::string>{"hub.example.com"});
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(x, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  X509_EXTENSION* ext = X509_get_ext(x, at);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), ASN1_STRING_length(value));
  EXPECT_EQ(der, std::string("\x04\x20", 2) + sha256("token.thumbprint"));
  auto validity = acme::certificate_validity(cert->cert_pem);
  ASSERT_TRUE(validity);
  EXPECT_LT(validity->not_before, validity->not_after);
  EXPECT_TRUE(acme::certificate_covers(cert->cert_pem, "hub.example.com"));
  EXPECT_TRUE(acme::certificate_covers(cert->cert_pem, "HUB.example.com"));
  EXPECT_FALSE(acme::certificate_covers(cert->cert_pem, "other.example.com"));
  EXPECT_FALSE(acme::certificate_covers("not a certificate", "hub.example.com"));
  X509_free(x);
  EXPECT_FALSE(acme::certificate_validity("not a certificate"));
}

TEST(AcmeManager, EachCaHasItsOwnFolder) {
  EXPECT_EQ(AcmeManager::ca_folder("https://acme-v02.api.letsencrypt.org/directory"),
            "acme-v02.api.letsencrypt.org-directory");
  EXPECT_EQ(AcmeManager::ca_folder("https://acme-staging-v02.api.letsencrypt.org/directory"),
            "acme-staging-v02.api.letsencrypt.org-directory");
  EXPECT_EQ(AcmeManager::ca_folder("https://127.0.0.1:14000/dir"), "127.0.0.1-14000-dir");
  EXPECT_EQ(AcmeManager::ca_folder("https://CA.test/../x/"), "ca.test-..-x");
  EXPECT_EQ(AcmeManager::ca_folder("https://"), "ca");
}

TEST(AcmeManager, RenewsWhenAThirdOfTheLifetimeIsLeft) {
  constexpr std::int64_t kDay = 86'400;
  EXPECT_EQ(AcmeManager::renewal_time(0, 90 * kDay), 60 * kDay);  // Let's Encrypt: 30 days before the end
  EXPECT_EQ(AcmeManager::renewal_time(1'000, 1'000 + 6 * kDay), 1'000 + 4 * kDay);
  EXPECT_EQ(AcmeManager::renewal_time(500, 400), 400);  // nonsense validity: at its end
}

}  // namespace
}  // namespace mercure
