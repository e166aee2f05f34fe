#include "core/jwt_algorithm.hpp"

#include <array>
#include <utility>

namespace mercure {

namespace {
constexpr std::array<std::pair<JwtAlgorithm, std::string_view>, 13> kNames{{
    {JwtAlgorithm::HS256, "HS256"},
    {JwtAlgorithm::HS384, "HS384"},
    {JwtAlgorithm::HS512, "HS512"},
    {JwtAlgorithm::RS256, "RS256"},
    {JwtAlgorithm::RS384, "RS384"},
    {JwtAlgorithm::RS512, "RS512"},
    {JwtAlgorithm::PS256, "PS256"},
    {JwtAlgorithm::PS384, "PS384"},
    {JwtAlgorithm::PS512, "PS512"},
    {JwtAlgorithm::ES256, "ES256"},
    {JwtAlgorithm::ES384, "ES384"},
    {JwtAlgorithm::ES512, "ES512"},
    {JwtAlgorithm::EdDSA, "EdDSA"},
}};
}  // namespace

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name) noexcept {
  for (const auto& [alg, n] : kNames) {
    if (n == name) return alg;
  }
  return std::nullopt;
}

std::string_view to_string(JwtAlgorithm alg) noexcept {
  for (const auto& [a, n] : kNames) {
    if (a == alg) return n;
  }
  return "unknown";
}

bool is_hmac(JwtAlgorithm alg) noexcept {
  return alg == JwtAlgorithm::HS256 || alg == JwtAlgorithm::HS384 || alg == JwtAlgorithm::HS512;
}

}  // namespace mercure
