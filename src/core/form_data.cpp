#include "core/form_data.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace mercure {

namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

// Value of a hex digit, or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum : std::uint8_t { kUnreserved = 1, kReserved = 2 };

constexpr std::array<std::uint8_t, 256> make_char_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kUnreserved;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kUnreserved;
  for (int c = '0'; c <= '9'; ++c) t[c] = kUnreserved;
  for (char c : std::string_view("-._~")) t[static_cast<unsigned char>(c)] = kUnreserved;
  for (char c : std::string_view(":/?#[]@!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = kReserved;
  return t;
}
constexpr auto kCharClasses = make_char_classes();

// Appends the decoding of `in` to `out`; false on a malformed escape (out is then garbage).
// Copies runs of ordinary bytes in one append: most values contain few or no escapes.
bool decode_append(std::string_view in, bool plus_as_space, std::string& out) {
  const std::size_t n = in.size();
  std::size_t run = 0;
  for (std::size_t i = 0; i < n;) {
    const char c = in[i];
    if (c == '%') {
      if (n - i < 3) return false;  // fewer than two bytes follow
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.append(in.data() + run, i - run);
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 3;
      run = i;
    } else if (c == '+' && plus_as_space) {
      out.append(in.data() + run, i - run);
      out.push_back(' ');
      run = ++i;
    } else {
      ++i;
    }
  }
  out.append(in.data() + run, n - run);
  return true;
}

bool decode_into(std::string_view in, bool plus_as_space, std::string& out) {
  out.clear();
  out.reserve(in.size());  // decoding never grows
  return decode_append(in, plus_as_space, out);
}

// The key as shown in an error reason: printable ASCII except '"' and '\' kept, every other
// byte as \xNN, at most kMaxShown input bytes.
std::string printable_key(std::string_view key) {
  constexpr std::size_t kMaxShown = 64;
  const bool truncated = key.size() > kMaxShown;
  if (truncated) key = key.substr(0, kMaxShown);
  std::string out;
  out.reserve(key.size() + 3);
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(ch);
    } else {
      out.append("\\x").push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xf]);
    }
  }
  if (truncated) out.append("...");
  return out;
}

Error malformed(std::string_view what, std::string_view raw_key) {
  // Show the decoded key when the key itself decodes, else the raw bytes.
  std::string key;
  if (!decode_into(raw_key, true, key)) key.assign(raw_key);
  std::string reason = "malformed percent-encoding in ";
  reason.append(what).append(" field \"").append(printable_key(key)).push_back('"');
  return Error{Errc::bad_request, std::move(reason)};
}

}  // namespace

Result<FormFields> parse_urlencoded(std::string_view input, std::string_view what) {
  FormFields fields;
  fields.reserve(static_cast<std::size_t>(std::count(input.begin(), input.end(), '&')) + 1);
  while (!input.empty()) {
    const std::size_t amp = input.find('&');
    const std::string_view pair = input.substr(0, amp);
    input.remove_prefix(amp == std::string_view::npos ? input.size() : amp + 1);
    if (pair.empty()) continue;

    const std::size_t eq = pair.find('=');
    const std::string_view raw_key = pair.substr(0, eq);
    const std::string_view raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);

    auto& [key, value] = fields.emplace_back();
    if (!decode_into(raw_key, true, key) || !decode_into(raw_value, true, value)) {
      return malformed(what, raw_key);
    }
  }
  return fields;
}

std::string percent_encode(std::string_view input, bool encode_reserved) {
  const std::uint8_t keep = encode_reserved ? kUnreserved : (kUnreserved | kReserved);
  std::size_t escaped = 0;
  for (const char c : input) {
    if (!(kCharClasses[static_cast<unsigned char>(c)] & keep)) ++escaped;
  }
  std::string out;
  out.reserve(input.size() + 2 * escaped);
  for (const char ch : input) {
    const auto c = static_cast<unsigned char>(ch);
    if (kCharClasses[c] & keep) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view input, bool plus_as_space) {
  std::string out;
  if (!decode_into(input, plus_as_space, out)) return std::nullopt;
  return out;
}

}  // namespace mercure
