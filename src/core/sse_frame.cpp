#include "core/sse_frame.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <limits>

namespace mercure {

namespace {

constexpr std::string_view kEvent = "event: ";
constexpr std::string_view kRetry = "retry: ";
constexpr std::string_view kId = "id: ";
constexpr std::string_view kData = "data: ";

// Finds the line breaks of `data` in order with memchr (payloads are mostly JSON without raw
// line breaks: two calls cover all of it), remembering the next CR and the next LF so that no
// byte is scanned twice for the same one.
class BreakFinder {
 public:
  explicit BreakFinder(std::string_view data) noexcept : data_(data), cr_(find('\r', 0)), lf_(find('\n', 0)) {}

  // Position of the first CR or LF at or after `from`, or data.size(). `from` never decreases
  // from one call to the next.
  std::size_t next(std::size_t from) noexcept {
    if (cr_ < from) cr_ = find('\r', from);
    if (lf_ < from) lf_ = find('\n', from);
    return std::min(cr_, lf_);
  }

 private:
  std::size_t find(char c, std::size_t from) const noexcept {
    if (from >= data_.size()) return data_.size();  // data() may be null: memchr must not see it
    const void* p = std::memchr(data_.data() + from, c, data_.size() - from);
    return p != nullptr ? static_cast<std::size_t>(static_cast<const char*>(p) - data_.data()) : data_.size();
  }

  std::string_view data_;
  std::size_t cr_;
  std::size_t lf_;
};

// Length of the line break starting at `pos` (2 for CRLF, else 1); pos < data.size().
std::size_t break_length(std::string_view data, std::size_t pos) noexcept {
  return (data[pos] == '\r' && pos + 1 < data.size() && data[pos + 1] == '\n') ? 2 : 1;
}

}  // namespace

std::string make_sse_frame(const Update& u) {
  const std::string_view data = u.data;

  // First pass: count lines and break bytes to size the frame exactly.
  std::size_t lines = 1;
  std::size_t break_bytes = 0;
  BreakFinder counting(data);
  for (std::size_t pos = counting.next(0); pos < data.size(); pos = counting.next(pos)) {
    const std::size_t len = break_length(data, pos);
    ++lines;
    break_bytes += len;
    pos += len;
  }

  char retry_digits[std::numeric_limits<std::uint64_t>::digits10 + 1];
  std::size_t retry_len = 0;
  if (u.retry) {
    const char* end = std::to_chars(retry_digits, retry_digits + sizeof retry_digits, *u.retry).ptr;
    retry_len = static_cast<std::size_t>(end - retry_digits);
  }

  std::size_t size = kId.size() + u.id.size() + 1;
  if (!u.type.empty()) size += kEvent.size() + u.type.size() + 1;
  if (u.retry) size += kRetry.size() + retry_len + 1;
  size += lines * (kData.size() + 1) + (data.size() - break_bytes) + 1;

  std::string out;
  out.reserve(size);
  if (!u.type.empty()) {
    out.append(kEvent).append(u.type).push_back('\n');
  }
  if (u.retry) {
    out.append(kRetry).append(retry_digits, retry_len).push_back('\n');
  }
  out.append(kId).append(u.id).push_back('\n');

  // Second pass: one "data: " line per line of data.
  BreakFinder copying(data);
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = copying.next(start);
    out.append(kData).append(data.substr(start, pos - start)).push_back('\n');
    if (pos == data.size()) break;
    start = pos + break_length(data, pos);
  }
  out.push_back('\n');
  return out;
}

}  // namespace mercure
