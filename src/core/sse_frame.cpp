#include "core/sse_frame.hpp"

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

// Position of the next CR or LF at or after `from`, or data.size(). One pass, two compares
// per byte: payloads are mostly JSON without raw line breaks, so each frame scans its data
// once to size the output and once to copy it.
std::size_t next_break(std::string_view data, std::size_t from) noexcept {
  const char* p = data.data();
  const std::size_t n = data.size();
  while (from < n && p[from] != '\n' && p[from] != '\r') ++from;
  return from;
}

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
  for (std::size_t pos = next_break(data, 0); pos < data.size(); pos = next_break(data, pos)) {
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
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = next_break(data, start);
    out.append(kData).append(data.substr(start, pos - start)).push_back('\n');
    if (pos == data.size()) break;
    start = pos + break_length(data, pos);
  }
  out.push_back('\n');
  return out;
}

}  // namespace mercure
