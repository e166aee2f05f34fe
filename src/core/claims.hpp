#pragma once
// What a verified token grants. Produced only by JwtVerifier::verify, after the signature, the
// JSON types and the time window have been checked; a plain value, safe to copy across threads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mercure {

struct Claims {
  // mercure.publish / mercure.subscribe (or the same under "https://mercure.rocks/"): topic
  // selectors. nullopt when the claim is absent or null; an empty vector grants nothing.
  std::optional<std::vector<std::string>> publish;
  std::optional<std::vector<std::string>> subscribe;
  // mercure.payload re-serialized as compact JSON (any JSON type); nullopt when absent or null.
  std::optional<std::string> payload_json;
  // Registered claims in Unix seconds. A fractional exp/iat is rounded down and a fractional
  // nbf up, so rounding never widens the validity window.
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
};

}  // namespace mercure
