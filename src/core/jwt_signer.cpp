#include "core/jwt_signer.hpp"

#include "core/base64url.hpp"
#include "core/jwt_crypto.hpp"
#include "core/strict_json.hpp"

namespace mercure {

Result<std::string> sign_jwt(JwtAlgorithm alg, std::string_view key, std::string_view claims_json) {
  auto claims = parse_strict_json(claims_json, "claims");
  if (!claims) return claims.error();
  if (!claims->is_object()) return Error{Errc::bad_request, "claims are not a JSON object"};

  auto md = fetch_jwt_digest(alg);
  if (!md) return md.error();

  std::string token = base64url_encode(R"({"alg":")" + std::string(to_string(alg)) + R"(","typ":"JWT"})");
  token += '.';
  token += base64url_encode(claims_json);

  std::string signature;
  if (is_hmac(alg)) {
    if (auto ok = check_hmac_secret(key); !ok) return ok.error();
    auto mac = fetch_hmac();
    if (!mac) return mac.error();
    auto tag = hmac(mac->get(), md->get(), key, token);
    if (!tag) return tag.error();
    signature = std::move(*tag);
  } else {
    auto pkey = load_private_key_pem(key);
    if (!pkey) return Error{pkey.error().code, std::string(to_string(alg)) + " " + pkey.error().reason};
    if (auto ok = check_key_for_algorithm(alg, pkey->get()); !ok) return ok.error();
    auto sig = sign_asymmetric(alg, pkey->get(), md->get(), token);
    if (!sig) return sig.error();
    signature = std::move(*sig);
  }
  token += '.';
  token += base64url_encode(signature);
  return token;
}

}  // namespace mercure
