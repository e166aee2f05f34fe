#include "core/jwt_verifier.hpp"

#include "core/base64url.hpp"
#include "core/json_text.hpp"
#include "core/strict_json.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace mercure {

namespace {

constexpr std::string_view kMercureClaim = "mercure";
constexpr std::string_view kMercureUriClaim = "https://mercure.rocks/";

Error reject(std::string_view check, std::string reason) {
  return Error{Errc::unauthorized, std::move(reason), check};
}

const boost::json::value* member(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(boost::json::string_view(key.data(), key.size()));
  return v != nullptr && !v->is_null() ? v : nullptr;
}

enum class Rounding { down, up };

// NumericDate (RFC 7519 section 2): a JSON number of seconds, possibly fractional. Rounded so
// that rounding never extends validity: exp and iat down, nbf up.
Result<std::optional<std::int64_t>> numeric_date(const boost::json::object& claims, std::string_view name,
                                                 Rounding rounding) {
  const boost::json::value* v = member(claims, name);
  if (v == nullptr) return std::optional<std::int64_t>{};
  if (const auto* i = v->if_int64()) return std::optional<std::int64_t>{*i};
  if (v->is_uint64()) return reject(kJwtCheckClaims, "claim " + std::string(name) + " is out of range");
  if (const auto* d = v->if_double()) {
    const double r = rounding == Rounding::down ? std::floor(*d) : std::ceil(*d);
    // 0x1p63 = 2^63: every finite double in [-2^63, 2^63) converts exactly to int64.
    if (!std::isfinite(r) || r < -0x1p63 || r >= 0x1p63) {
      return reject(kJwtCheckClaims, "claim " + std::string(name) + " is out of range");
    }
    return std::optional<std::int64_t>{static_cast<std::int64_t>(r)};
  }
  return reject(kJwtCheckClaims, "claim " + std::string(name) + " is not a number");
}

Result<std::optional<std::vector<std::string>>> string_array(const boost::json::object& ns, std::string_view ns_name,
                                                             std::string_view name) {
  const boost::json::value* v = member(ns, name);
  if (v == nullptr) return std::optional<std::vector<std::string>>{};
  const auto not_strings = [&] {
    return reject(kJwtCheckClaims,
                  "claim " + std::string(ns_name) + "." + std::string(name) + " is not an array of strings");
  };
  const auto* array = v->if_array();
  if (array == nullptr) return not_strings();
  std::vector<std::string> out;
  out.reserve(array->size());
  for (const auto& item : *array) {
    const auto* s = item.if_string();
    if (s == nullptr) return not_strings();
    out.emplace_back(s->data(), s->size());
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

Result<Claims> extract_claims(const boost::json::object& obj) {
  Claims claims;
  auto exp = numeric_date(obj, "exp", Rounding::down);
  if (!exp) return exp.error();
  auto nbf = numeric_date(obj, "nbf", Rounding::up);
  if (!nbf) return nbf.error();
  auto iat = numeric_date(obj, "iat", Rounding::down);
  if (!iat) return iat.error();
  claims.exp = *exp;
  claims.nbf = *nbf;
  claims.iat = *iat;

  std::string_view ns_name = kMercureClaim;
  const boost::json::value* ns = member(obj, kMercureClaim);
  if (ns == nullptr) {
    ns_name = kMercureUriClaim;
    ns = member(obj, kMercureUriClaim);
  }
  if (ns == nullptr) return claims;
  const auto* ns_obj = ns->if_object();
  if (ns_obj == nullptr) return reject(kJwtCheckClaims, "claim " + std::string(ns_name) + " is not an object");

  auto publish = string_array(*ns_obj, ns_name, "publish");
  if (!publish) return publish.error();
  auto subscribe = string_array(*ns_obj, ns_name, "subscribe");
  if (!subscribe) return subscribe.error();
  claims.publish = std::move(*publish);
  claims.subscribe = std::move(*subscribe);
  if (const boost::json::value* payload = member(*ns_obj, "payload")) claims.payload_json = serialize_json(*payload);
  return claims;
}

}  // namespace

Result<JwtVerifier> JwtVerifier::create(JwtAlgorithm alg, std::string_view key) {
  JwtVerifier v(alg);
  auto md = fetch_jwt_digest(alg);
  if (!md) return md.error();
  v.md_ = std::move(*md);
  if (is_hmac(alg)) {
    if (auto ok = check_hmac_secret(key); !ok) return ok.error();
    auto mac = fetch_hmac();
    if (!mac) return mac.error();
    v.mac_ = std::move(*mac);
    v.secret_.assign(key);
    return v;
  }
  auto pkey = load_public_key_pem(key);
  if (!pkey) return Error{pkey.error().code, std::string(to_string(alg)) + " " + pkey.error().reason};
  if (auto ok = check_key_for_algorithm(alg, pkey->get()); !ok) return ok.error();
  v.key_ = std::move(*pkey);
  return v;
}

Result<JwtVerifier> JwtVerifier::create_for_key(JwtAlgorithm alg, EVP_PKEY* key) {
  if (is_hmac(alg) || key == nullptr) return Error{Errc::bad_request, "an HMAC algorithm needs a secret, not a key"};
  if (auto ok = check_key_for_algorithm(alg, key); !ok) return ok.error();
  JwtVerifier v(alg);
  auto md = fetch_jwt_digest(alg);
  if (!md) return md.error();
  v.md_ = std::move(*md);
  if (EVP_PKEY_up_ref(key) != 1) return Error{Errc::internal, "cannot share the key"};
  v.key_.reset(key);
  return v;
}

JwtVerifier::~JwtVerifier() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

Result<void> JwtVerifier::check_signature(std::string_view signing_input, std::string_view signature) const {
  if (!is_hmac(alg_)) return verify_asymmetric(alg_, key_.get(), md_.get(), signing_input, signature);
  auto expected = hmac(mac_.get(), md_.get(), secret_, signing_input);
  if (!expected) return expected.error();
  if (signature.size() != expected->size()) {
    return reject(kJwtCheckSignature, "signature has wrong length (" + std::to_string(signature.size()) +
                                          " bytes, expected " + std::to_string(expected->size()) + ")");
  }
  if (CRYPTO_memcmp(signature.data(), expected->data(), expected->size()) != 0)
    return reject(kJwtCheckSignature, "signature mismatch");
  return {};
}

Result<Claims> JwtVerifier::verify(std::string_view token, std::int64_t now_unix_seconds) const {
  auto claims = verify_untimed(token);
  if (!claims) return claims;
  if (auto in_time = check_time(*claims, now_unix_seconds); !in_time) return in_time.error();
  return claims;
}

Result<void> JwtVerifier::check_time(const Claims& claims, std::int64_t now_unix_seconds) {
  if (claims.exp && now_unix_seconds >= *claims.exp) return reject(kJwtCheckExp, "token expired");
  if (claims.nbf && now_unix_seconds < *claims.nbf) return reject(kJwtCheckNbf, "token not valid yet");
  // PROTOCOL.md: iat is enforced when present (golang-jwt v4, used by older reference hubs, did
  // too), with a minute for the clock of the server that minted it: Node's jsonwebtoken and most
  // PHP publishers set iat = now, and golang-jwt v5 (the reference today) ignores iat, so an
  // application server a few seconds ahead (a container after a laptop's sleep, a VM without NTP)
  // must not see every publish refused. A token more than a minute ahead is refused.
  if (claims.iat && now_unix_seconds + kIatLeewaySeconds < *claims.iat) {
    return reject(kJwtCheckIat, "token issued in the future (iat)");
  }
  return {};
}

Result<Claims> JwtVerifier::verify_untimed(std::string_view token) const {
  if (token.size() > kMaxTokenSize) {
    return reject(kJwtCheckFormat, "malformed token: larger than " + std::to_string(kMaxTokenSize) + " bytes");
  }
  const auto dots = std::count(token.begin(), token.end(), '.');
  if (dots != 2) {
    return reject(kJwtCheckFormat, "malformed token: expected 3 dot-separated parts, got " + std::to_string(dots + 1));
  }
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string_view header_part = token.substr(0, first);
  const std::string_view payload_part = token.substr(first + 1, second - first - 1);
  const std::string_view signature_part = token.substr(second + 1);

  if (header_part.empty()) return reject(kJwtCheckFormat, "malformed token: empty header");
  auto header_json = base64url_decode(header_part);
  if (!header_json) return reject(kJwtCheckFormat, "malformed token: bad base64 in header");
  auto payload_json = base64url_decode(payload_part);
  if (!payload_json) return reject(kJwtCheckFormat, "malformed token: bad base64 in payload");
  auto signature = base64url_decode(signature_part);
  if (!signature) return reject(kJwtCheckFormat, "malformed token: bad base64 in signature");

  auto header = parse_strict_json(*header_json, "header");
  if (!header) return reject(kJwtCheckFormat, "malformed token: " + header.error().reason);
  const auto* header_obj = header->if_object();
  if (header_obj == nullptr) return reject(kJwtCheckFormat, "malformed token: header is not a JSON object");
  const boost::json::value* alg = header_obj->if_contains("alg");
  if (alg == nullptr) return reject(kJwtCheckFormat, "malformed token: header has no alg");
  const auto* alg_name = alg->if_string();
  if (alg_name == nullptr) return reject(kJwtCheckFormat, "malformed token: header alg is not a string");
  const std::string_view expected = to_string(alg_);
  const std::string_view actual(alg_name->data(), alg_name->size());
  if (actual == "none") {
    return reject(kJwtCheckAlg, "unsecured token (alg none) not allowed (expected " + std::string(expected) + ")");
  }
  if (actual != expected) {
    return reject(kJwtCheckAlg,
                  "algorithm " + printable_excerpt(actual) + " not allowed (expected " + std::string(expected) + ")");
  }
  if (header_obj->contains("crit"))
    return reject(kJwtCheckCrit, "header crit is not supported (no JWS extension is understood)");

  if (signature->empty()) return reject(kJwtCheckFormat, "malformed token: empty signature");
  if (auto ok = check_signature(token.substr(0, second), *signature); !ok) {
    Error e = ok.error();
    if (e.check.empty()) e.check = kJwtCheckSignature;
    return e;
  }

  auto payload = parse_strict_json(*payload_json, "payload");
  if (!payload) return reject(kJwtCheckFormat, "malformed token: " + payload.error().reason);
  const auto* payload_obj = payload->if_object();
  if (payload_obj == nullptr) return reject(kJwtCheckFormat, "malformed token: payload is not a JSON object");
  return extract_claims(*payload_obj);
}

}  // namespace mercure
