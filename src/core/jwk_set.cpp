#include "core/jwk_set.hpp"

#include "core/base64url.hpp"
#include "core/strict_json.hpp"

#include <boost/json.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <variant>

namespace mercure {

namespace {

using BnPtr = OpenSslPtr<BIGNUM, BN_free>;
using ParamBldPtr = OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using PkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

// A key that cannot be used: the reason, kept apart from Errc (these are not request errors).
struct Unusable {
  std::string reason;
  bool not_for_signatures = false;  // an encryption key: normal in a provider's set
};
template <typename T>
using Read = std::variant<T, Unusable>;

Unusable openssl_failure(const std::string& what) {
  ERR_clear_error();  // leave this thread's queue empty (see jwt_crypto.hpp)
  return Unusable{what};
}

// A base64url member of the key, decoded; nullopt when absent, Unusable when malformed.
Read<std::optional<std::string>> bytes_member(const boost::json::object& jwk, std::string_view name) {
  const boost::json::value* v = jwk.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  const auto* s = v->if_string();
  if (s == nullptr) return Unusable{"\"" + std::string(name) + "\" is not a string"};
  std::string_view text(s->data(), s->size());
  // Some providers pad their members ("AQAB=="): jose and keyfunc read them, so this does too.
  while (text.ends_with('=')) text.remove_suffix(1);
  auto decoded = base64url_decode(text);
  if (!decoded) return Unusable{"\"" + std::string(name) + "\" is not base64url"};
  if (decoded->empty()) return Unusable{"\"" + std::string(name) + "\" is empty"};
  return std::optional<std::string>(std::move(*decoded));
}

Read<std::string> required_bytes(const boost::json::object& jwk, std::string_view name) {
  auto member = bytes_member(jwk, name);
  if (auto* bad = std::get_if<Unusable>(&member)) return *bad;
  auto& value = std::get<std::optional<std::string>>(member);
  if (!value) return Unusable{"no \"" + std::string(name) + "\""};
  return std::move(*value);
}

std::string quoted(std::string_view s) {
  return "\"" + printable_excerpt(s) + "\"";
}

std::string string_member(const boost::json::object& jwk, std::string_view name) {
  const boost::json::value* v = jwk.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string().data(), v->as_string().size());
}

// A member that narrows what a key may do must not widen it by having the wrong type.
std::optional<Unusable> wrong_type(const boost::json::object& jwk) {
  for (std::string_view name : {"kty", "kid", "alg", "use", "crv"}) {
    const boost::json::value* v = jwk.if_contains(name);
    if (v != nullptr && !v->is_null() && !v->is_string())
      return Unusable{"\"" + std::string(name) + "\" is not a string"};
  }
  const boost::json::value* ops = jwk.if_contains("key_ops");
  if (ops != nullptr && !ops->is_null() && !ops->is_array()) return Unusable{"\"key_ops\" is not an array"};
  return std::nullopt;
}

Read<EvpPkeyPtr> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 || raw == nullptr) {
    return openssl_failure("not a valid " + std::string(type) + " public key");
  }
  EvpPkeyPtr key(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return openssl_failure("not a valid " + std::string(type) + " public key");
  }
  return key;
}

Read<EvpPkeyPtr> rsa_key(const boost::json::object& jwk) {
  auto n = required_bytes(jwk, "n");
  if (auto* bad = std::get_if<Unusable>(&n)) return *bad;
  auto e = required_bytes(jwk, "e");
  if (auto* bad = std::get_if<Unusable>(&e)) return *bad;
  const auto& n_bytes = std::get<std::string>(n);
  const auto& e_bytes = std::get<std::string>(e);
  BnPtr n_bn(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes.data()), static_cast<int>(n_bytes.size()), nullptr));
  BnPtr e_bn(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e_bytes.data()), static_cast<int>(e_bytes.size()), nullptr));
  if (e_bn && (BN_num_bits(e_bn.get()) > 32 || !BN_is_odd(e_bn.get()))) {
    return Unusable{"an RSA public exponent that is even or longer than 32 bits"};
  }
  if (n_bn && BN_num_bits(n_bn.get()) < kMinRsaBits) {
    return Unusable{"an RSA key of " + std::to_string(BN_num_bits(n_bn.get())) + " bits (at least " +
                    std::to_string(kMinRsaBits) + " are needed)"};
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return openssl_failure("cannot build the RSA key");
  }
  return from_params("RSA", bld.get());
}

struct Curve {
  std::string_view jwk_name;
  const char* group;
  std::size_t coordinate_bytes;
  JwtAlgorithm alg;
};
constexpr std::array<Curve, 3> kCurves{{{"P-256", "prime256v1", 32, JwtAlgorithm::ES256},
                                        {"P-384", "secp384r1", 48, JwtAlgorithm::ES384},
                                        {"P-521", "secp521r1", 66, JwtAlgorithm::ES512}}};

Read<EvpPkeyPtr> ec_key(const boost::json::object& jwk, const Curve& curve) {
  auto x = required_bytes(jwk, "x");
  if (auto* bad = std::get_if<Unusable>(&x)) return *bad;
  auto y = required_bytes(jwk, "y");
  if (auto* bad = std::get_if<Unusable>(&y)) return *bad;
  // RFC 7518 section 6.2.1.2 wants the full length; some encoders drop leading zero bytes, which
  // jose and keyfunc put back, so this does too.
  auto xs = std::get<std::string>(x);
  auto ys = std::get<std::string>(y);
  if (xs.size() < curve.coordinate_bytes) xs.insert(0, curve.coordinate_bytes - xs.size(), '\0');
  if (ys.size() < curve.coordinate_bytes) ys.insert(0, curve.coordinate_bytes - ys.size(), '\0');
  if (xs.size() != curve.coordinate_bytes || ys.size() != curve.coordinate_bytes) {
    return Unusable{"\"x\" and \"y\" must be " + std::to_string(curve.coordinate_bytes) + " bytes each for " +
                    std::string(curve.jwk_name)};
  }
  std::string point = "\x04" + xs + ys;  // SEC 1 uncompressed point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return openssl_failure("cannot build the EC key");
  }
  return from_params("EC", bld.get());
}

Read<EvpPkeyPtr> okp_key(const boost::json::object& jwk, int type, std::size_t size) {
  auto x = required_bytes(jwk, "x");
  if (auto* bad = std::get_if<Unusable>(&x)) return *bad;
  const auto& xs = std::get<std::string>(x);
  if (xs.size() != size) return Unusable{"\"x\" must be " + std::to_string(size) + " bytes"};
  EVP_PKEY* raw =
      EVP_PKEY_new_raw_public_key(type, nullptr, reinterpret_cast<const unsigned char*>(xs.data()), xs.size());
  if (raw == nullptr) return openssl_failure("OpenSSL does not accept it as an EdDSA public key");
  return EvpPkeyPtr(raw);
}

// The algorithms a key of this type may verify, before its `alg` and size narrow them.
constexpr std::array kRsaAlgorithms{JwtAlgorithm::RS256, JwtAlgorithm::RS384, JwtAlgorithm::RS512,
                                    JwtAlgorithm::PS256, JwtAlgorithm::PS384, JwtAlgorithm::PS512};
// JWE key management algorithms (RFC 7518 section 4): an identity provider's encryption keys
// sit in the same set as its signing keys, often with an `alg` and no `use`.
bool is_encryption_algorithm(std::string_view alg) {
  for (std::string_view prefix : {"RSA-OAEP", "RSA1_5", "ECDH-ES", "A128", "A192", "A256", "PBES2", "dir"}) {
    if (alg.starts_with(prefix)) return true;
  }
  return false;
}

Read<Jwk> read_key(const boost::json::object& jwk) {
  if (auto bad = wrong_type(jwk)) return *bad;
  const std::string use = string_member(jwk, "use");
  if (!use.empty() && use != "sig") return Unusable{"\"use\" is " + quoted(use) + ", not \"sig\"", true};
  if (const auto* ops = jwk.if_contains("key_ops"); ops != nullptr && ops->is_array()) {
    const auto& list = ops->as_array();
    if (std::none_of(list.begin(), list.end(),
                     [](const auto& op) { return op.is_string() && op.as_string() == "verify"; }))
      return Unusable{"its \"key_ops\" do not include \"verify\"", true};
  }
  std::optional<JwtAlgorithm> declared;
  if (std::string alg = string_member(jwk, "alg"); !alg.empty()) {
    if (alg == "Ed25519" || alg == "Ed448") alg = "EdDSA";  // RFC 9864's fully specified names
    declared = parse_jwt_algorithm(alg);
    if (!declared && is_encryption_algorithm(alg)) {
      return Unusable{"\"alg\" " + quoted(alg) + " is an encryption algorithm", true};
    }
    if (!declared) return Unusable{"unsupported \"alg\" " + quoted(alg)};
  }

  Jwk out;
  out.kid = string_member(jwk, "kid");
  std::vector<JwtAlgorithm> candidates;
  const std::string kty = string_member(jwk, "kty");
  Read<EvpPkeyPtr> key = Unusable{};
  if (kty == "RSA") {
    key = rsa_key(jwk);
    candidates.assign(kRsaAlgorithms.begin(), kRsaAlgorithms.end());
  } else if (kty == "EC") {
    const std::string crv = string_member(jwk, "crv");
    const auto* curve = std::find_if(kCurves.begin(), kCurves.end(), [&](const Curve& c) { return c.jwk_name == crv; });
    if (curve == kCurves.end()) return Unusable{"unsupported EC curve " + quoted(crv)};
    key = ec_key(jwk, *curve);
    candidates = {curve->alg};
  } else if (kty == "OKP") {
    const std::string crv = string_member(jwk, "crv");
    if (crv == "Ed25519") {
      key = okp_key(jwk, EVP_PKEY_ED25519, 32);
    } else if (crv == "Ed448") {
      key = okp_key(jwk, EVP_PKEY_ED448, 57);
    } else {
      return Unusable{"unsupported OKP curve " + quoted(crv) + " (Ed25519 and Ed448 sign)"};
    }
    candidates = {JwtAlgorithm::EdDSA};
  } else if (kty == "oct") {
    // A key set is published: whoever can read it could sign tokens with a secret in it (the
    // reference hub and jose refuse HMAC algorithms for key sets too).
    return Unusable{"a symmetric (oct) key: whoever can read the key set could sign tokens with it"};
  } else {
    return Unusable{kty.empty() ? std::string("no \"kty\"") : "unsupported \"kty\" " + quoted(kty)};
  }
  if (auto* bad = std::get_if<Unusable>(&key)) return *bad;
  out.key = std::move(std::get<EvpPkeyPtr>(key));

  for (JwtAlgorithm alg : candidates) {
    if (declared && alg != *declared) continue;
    if (!check_key_for_algorithm(alg, out.key.get())) continue;
    out.algorithms.push_back(alg);
  }
  if (out.algorithms.empty()) {
    if (declared && std::find(candidates.begin(), candidates.end(), *declared) == candidates.end())
      return Unusable{"\"alg\" " + std::string(to_string(*declared)) + " does not fit a key of type " + kty};
    auto why = check_key_for_algorithm(declared ? *declared : candidates.front(), out.key.get());
    return Unusable{why ? std::string("no usable algorithm") : why.error().reason};
  }
  return out;
}

}  // namespace

Result<JwkSet> parse_jwk_set(std::string_view json) {
  auto doc = parse_strict_json(json, "key set");
  if (!doc) return Error{Errc::bad_request, "not a JSON Web Key Set: " + doc.error().reason};
  const auto* root = doc->if_object();
  const boost::json::value* keys = root != nullptr ? root->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array())
    return Error{Errc::bad_request, "not a JSON Web Key Set: no \"keys\" array"};
  JwkSet set;
  std::size_t index = 0;
  for (const boost::json::value& entry : keys->as_array()) {
    ++index;
    std::string name = "key " + std::to_string(index);
    const auto* jwk = entry.if_object();
    if (jwk == nullptr) {
      set.skipped.push_back(name + ": not a JSON object");
      continue;
    }
    if (const std::string kid = string_member(*jwk, "kid"); !kid.empty()) name += " (kid " + quoted(kid) + ")";
    auto key = read_key(*jwk);
    if (auto* bad = std::get_if<Unusable>(&key)) {
      if (bad->not_for_signatures) ++set.not_for_signatures;
      set.skipped.push_back(name + ": " + bad->reason);
      continue;
    }
    set.keys.push_back(std::move(std::get<Jwk>(key)));
  }
  return set;
}

}  // namespace mercure
