#include "core/topic_limits.hpp"

#include <cstdint>
#include <cstring>

namespace mercure {

namespace {

// Length of the UTF-8 sequence starting at s[i] when it is well formed, else 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  const std::size_t left = s.size() - i;
  const auto continuation = [&](std::size_t k) { return (byte(k) & 0xC0) == 0x80; };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && continuation(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !continuation(i + 1) || !continuation(i + 2)) return 0;
    const std::uint8_t b1 = byte(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    const std::uint8_t b1 = byte(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // a continuation byte first, C0/C1 (overlong), or F5-FF
}

std::string ordinal(std::size_t index) {
  return "#" + std::to_string(index + 1);
}

}  // namespace

bool is_valid_topic_text(std::string_view text) noexcept {
  std::size_t i = 0;
  // The usual text, printable ASCII (0x20-0x7E), checked 8 bytes at a time; the first word with
  // another byte, and what follows, go through the byte-wise check below.
  constexpr std::uint64_t kOnes = 0x0101010101010101U;
  constexpr std::uint64_t kHighs = 0x8080808080808080U;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    // A byte below 0x20 borrows (w - 0x20..), one of 0x7F-0xFF sets its high bit in (w + 1..) | w;
    // a carry or borrow crosses into the next byte only from such a byte.
    const std::uint64_t below = (w - 0x20 * kOnes) & ~w;
    const std::uint64_t above = (w + kOnes) | w;
    if (((below | above) & kHighs) != 0) break;
  }
  while (i < text.size()) {
    const auto b0 = static_cast<std::uint8_t>(text[i]);
    if (b0 < 0x20 || b0 == 0x7F) return false;  // C0 and DEL
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    if (b0 == 0xC2 && static_cast<std::uint8_t>(text[i + 1]) < 0xA0) return false;  // C1: U+0080-U+009F
    i += n;
  }
  return true;
}

Result<void> check_publish_topics(const std::vector<std::string>& topics, const TopicLimits& limits) {
  if (limits.max_topics != 0 && topics.size() > limits.max_topics) {
    return Error{Errc::payload_too_large, "too many topics: " + std::to_string(topics.size()) + " (at most " +
                                              std::to_string(limits.max_topics) + " per update)"};
  }
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const std::string& topic = topics[i];
    if (limits.max_topic_length != 0 && topic.size() > limits.max_topic_length) {
      return Error{Errc::payload_too_large, "topic " + ordinal(i) + " is too long: " + std::to_string(topic.size()) +
                                                " bytes (at most " + std::to_string(limits.max_topic_length) + ")"};
    }
    if (!is_valid_topic_text(topic)) {
      return Error{Errc::bad_request, "topic " + ordinal(i) + " is not valid UTF-8 or contains a control character"};
    }
  }
  return {};
}

Result<void> check_subscribe_selectors(const std::vector<std::string>& selectors, const TopicLimits& limits) {
  if (limits.max_selectors != 0 && selectors.size() > limits.max_selectors) {
    return Error{Errc::bad_request, "too many topic selectors: " + std::to_string(selectors.size()) + " (at most " +
                                        std::to_string(limits.max_selectors) + " per subscription)"};
  }
  for (std::size_t i = 0; i < selectors.size(); ++i) {
    const std::string& selector = selectors[i];
    if (limits.max_topic_length != 0 && selector.size() > limits.max_topic_length) {
      return Error{Errc::bad_request, "topic selector " + ordinal(i) +
                                          " is too long: " + std::to_string(selector.size()) + " bytes (at most " +
                                          std::to_string(limits.max_topic_length) + ")"};
    }
    if (!is_valid_topic_text(selector)) {
      return Error{Errc::bad_request,
                   "topic selector " + ordinal(i) + " is not valid UTF-8 or contains a control character"};
    }
  }
  return {};
}

}  // namespace mercure
