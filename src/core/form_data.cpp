#include "core/form_data.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// The first `c` in [p, end), or end.
const char* find_byte(const char* p, const char* end, char c) noexcept {
  if (p == end) return end;  // p may be null (an empty view): memchr must not see it
  const void* found = std::memchr(p, c, static_cast<std::size_t>(end - p));
  return found != nullptr ? static_cast<const char*>(found) : end;
}

// Appends the decoding of `in` to `out`; false on a malformed escape (out is then garbage).
// Copies the runs between escapes in one append each, finding the next '%' and '+' with
// memchr: most values contain few or no escapes.
bool decode_append(std::string_view in, bool plus_as_space, std::string& out) {
  const char* p = in.data();
  const char* const end = p + in.size();
  const char* percent = find_byte(p, end, '%');
  const char* plus = plus_as_space ? find_byte(p, end, '+') : end;
  for (;;) {
    const char* next = std::min(percent, plus);
    out.append(p, static_cast<std::size_t>(next - p));
    if (next == end) return true;
    if (next == percent) {
      if (end - next < 3) return false;  // fewer than two bytes follow
      const int hi = hex_value(next[1]);
      const int lo = hex_value(next[2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>((hi << 4) | lo));
      p = next + 3;
      percent = find_byte(p, end, '%');  // the escape's two hex digits hold no '+'
    } else {
      out.push_back(' ');
      p = next + 1;
      plus = find_byte(p, end, '+');
    }
  }
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

}  // namespace

bool UrlencodedPairs::next(std::string_view& raw_key, std::string_view& raw_value) {
  while (!rest_.empty()) {
    const std::size_t amp = rest_.find('&');
    const std::string_view pair = rest_.substr(0, amp);
    rest_.remove_prefix(amp == std::string_view::npos ? rest_.size() : amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    raw_key = pair.substr(0, eq);
    raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    return true;
  }
  return false;
}

bool decode_urlencoded(std::string_view raw, std::string& out) {
  return decode_into(raw, true, out);
}

Error malformed_urlencoded(std::string_view what, std::string_view raw_key) {
  // Show the decoded key when the key itself decodes, else the raw bytes.
  std::string key;
  if (!decode_into(raw_key, true, key)) key.assign(raw_key);
  std::string reason = "malformed percent-encoding in ";
  reason.append(what).append(" field \"").append(printable_key(key)).push_back('"');
  return Error{Errc::bad_request, std::move(reason)};
}

Result<FormFields> parse_urlencoded(std::string_view input, std::string_view what) {
  FormFields fields;
  std::size_t pairs = 1;
  for (const char *p = input.data(), *end = p + input.size(); (p = find_byte(p, end, '&')) != end; ++p) ++pairs;
  fields.reserve(pairs);
  std::string_view raw_key, raw_value;
  for (UrlencodedPairs split(input); split.next(raw_key, raw_value);) {
    auto& [key, value] = fields.emplace_back();
    if (!decode_urlencoded(raw_key, key) || !decode_urlencoded(raw_value, value)) {
      return malformed_urlencoded(what, raw_key);
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
