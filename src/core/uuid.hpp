#pragma once
// Version 7 UUIDs (RFC 9562 section 5.7): 48-bit Unix time in milliseconds, then random bits,
// so ids sort by creation time. The hub uses them, as `urn:uuid:<uuid>`, for updates
// published without an id.

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace mercure {

// The canonical lower-case 36-character form (8-4-4-4-12 hex digits). Bits, most significant
// first: unix_ms (its low 48 bits), version 0b0111, rand_a = low nibble of random[0] and
// random[1], variant 0b10, rand_b = low 6 bits of random[2] and random[3..9]. Pure.
[[nodiscard]] std::string make_uuid_v7(std::uint64_t unix_ms, std::span<const std::uint8_t, 10> random);

// Milliseconds since the Unix epoch from the system clock.
[[nodiscard]] std::uint64_t system_unix_ms();

// Makes `urn:uuid:<UUIDv7>` ids that are strictly increasing (as strings and as UUIDs) in
// the order next() is called, across all threads of the process, even within one millisecond
// or when the clock goes backwards (RFC 9562 section 6.2, method 1): the 12-bit rand_a field
// is a counter, seeded randomly with its top bit clear at each new millisecond and
// incremented otherwise. More than ~2048 ids in one millisecond carry into the timestamp,
// which then runs ahead of the clock until the clock catches up. rand_b (62 bits) is fresh
// from OpenSSL's CSPRNG for every id, so ids are unpredictable and unique across processes.
//
// Thread-safety: next() may be called concurrently from any thread (one lock-free
// compare-and-swap; random bytes come from a per-thread buffer refilled in batches).
// The constructor throws std::runtime_error if the CSPRNG cannot be seeded (start-up only);
// if it fails later, the process aborts rather than emit predictable ids.
class UuidGenerator {
 public:
  explicit UuidGenerator(std::function<std::uint64_t()> now_ms = system_unix_ms);

  UuidGenerator(const UuidGenerator&) = delete;
  UuidGenerator& operator=(const UuidGenerator&) = delete;

  [[nodiscard]] std::string next();

 private:
  std::function<std::uint64_t()> now_ms_;
  // (unix_ms << 12) | counter of the last id handed out.
  std::atomic<std::uint64_t> last_{0};
};

}  // namespace mercure
