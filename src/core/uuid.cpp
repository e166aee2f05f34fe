#include "core/uuid.hpp"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace mercure {

namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr std::string_view kUrnPrefix = "urn:uuid:";
constexpr std::size_t kUuidLength = 36;
constexpr std::uint64_t kTimestampMask = (std::uint64_t{1} << 48) - 1;
constexpr unsigned kCounterBits = 12;

// Writes the 36 characters of the UUID into `out`.
void format_uuid(const std::array<std::uint8_t, 16>& b, char* out) noexcept {
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHexLower[b[i] >> 4];
    *out++ = kHexLower[b[i] & 0xf];
  }
}

// 48-bit timestamp (masked), then version, the 12 bits of rand_a, variant and rand_b bytes.
std::array<std::uint8_t, 16> uuid_v7_bytes(std::uint64_t unix_ms, std::uint16_t rand_a,
                                           std::span<const std::uint8_t, 8> rand_b) noexcept {
  std::array<std::uint8_t, 16> b{};
  unix_ms &= kTimestampMask;
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(unix_ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | ((rand_a >> 8) & 0x0f));
  b[7] = static_cast<std::uint8_t>(rand_a);
  b[8] = static_cast<std::uint8_t>(0x80 | (rand_b[0] & 0x3f));
  std::memcpy(&b[9], &rand_b[1], 7);
  return b;
}

// Per-thread buffer of CSPRNG bytes: one RAND_bytes call per kRandomBatch / 10 ids.
class RandomPool {
 public:
  // Fills `out` with fresh random bytes; aborts if the CSPRNG fails.
  void fill(std::uint8_t* out, std::size_t n) {
    if (pos_ + n > buffer_.size()) refill();
    std::memcpy(out, buffer_.data() + pos_, n);
    pos_ += n;
  }

 private:
  static constexpr std::size_t kRandomBatch = 640;

  void refill() {
    if (RAND_bytes(buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
      std::fputs("mercure: OpenSSL RAND_bytes failed; refusing to generate predictable ids\n", stderr);
      std::abort();
    }
    pos_ = 0;
  }

  std::array<std::uint8_t, kRandomBatch> buffer_{};
  std::size_t pos_ = kRandomBatch;
};

RandomPool& random_pool() {
  thread_local RandomPool pool;
  return pool;
}

}  // namespace

std::string make_uuid_v7(std::uint64_t unix_ms, std::span<const std::uint8_t, 10> random) {
  const auto rand_a = static_cast<std::uint16_t>((random[0] << 8) | random[1]);
  const auto b = uuid_v7_bytes(unix_ms, rand_a, random.subspan<2, 8>());
  std::string out(kUuidLength, '\0');
  format_uuid(b, out.data());
  return out;
}

std::uint64_t system_unix_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

UuidGenerator::UuidGenerator(std::function<std::uint64_t()> now_ms) : now_ms_(std::move(now_ms)) {
  std::uint8_t probe[1];
  if (RAND_bytes(probe, sizeof probe) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: cannot generate update ids");
  }
}

std::string UuidGenerator::next() {
  // 2 bytes to seed the counter (used only on a new millisecond) + 8 for rand_b.
  std::array<std::uint8_t, 10> random;
  random_pool().fill(random.data(), random.size());

  const std::uint64_t now = now_ms_() & kTimestampMask;
  // Top counter bit clear leaves at least 2048 increments before the timestamp carries.
  const std::uint64_t seeded = (now << kCounterBits) | (((random[0] << 8) | random[1]) & 0x7ff);
  std::uint64_t last = last_.load(std::memory_order_relaxed);
  std::uint64_t state;
  do {
    state = (now > (last >> kCounterBits)) ? seeded : last + 1;
  } while (!last_.compare_exchange_weak(last, state, std::memory_order_relaxed));

  const auto b = uuid_v7_bytes(state >> kCounterBits, static_cast<std::uint16_t>(state & 0xfff),
                               std::span<const std::uint8_t, 8>(random.data() + 2, 8));
  std::string out(kUrnPrefix.size() + kUuidLength, '\0');
  std::memcpy(out.data(), kUrnPrefix.data(), kUrnPrefix.size());
  format_uuid(b, out.data() + kUrnPrefix.size());
  return out;
}

}  // namespace mercure
