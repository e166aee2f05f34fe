#pragma once
// Bounds on the topics of one publish and the selectors of one subscription, and the text a
// topic or selector may contain. Pure functions; safe to call from any thread.
//
// Why bound them: every topic of an update is checked against the publisher's claim and matched
// against the pattern subscribers of every shard, and every selector is compiled and indexed; a
// template match costs O(topic x template) (core/uri_template.hpp). Counts and lengths bound the
// work one request can cause. A topic is an IRI: the reference hub (and this one) refuses
// invalid UTF-8 and control characters (C0, DEL, C1), which no IRI contains and which would
// otherwise reach logs, the subscription API's JSON and the store.

#include "core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

struct TopicLimits {
  std::size_t max_topics = 1000;        // topics of one publish; 0 = no limit (over: 413)
  std::size_t max_selectors = 1000;     // selectors of one subscription; 0 = no limit (over: 400)
  std::size_t max_topic_length = 8192;  // bytes of one topic or selector; 0 = no limit
};

// True when `text` is valid UTF-8 (shortest form, no surrogates, at most U+10FFFF) without
// control characters: U+0000-U+001F, U+007F, U+0080-U+009F.
[[nodiscard]] bool is_valid_topic_text(std::string_view text) noexcept;

// The topics of a publish: too many or one too long -> payload_too_large (413); invalid text ->
// bad_request (400). The reason names the limit and the offending topic's position.
[[nodiscard]] Result<void> check_publish_topics(const std::vector<std::string>& topics, const TopicLimits& limits);

// The selectors of a subscription: too many, one too long, or invalid text -> bad_request (400).
[[nodiscard]] Result<void> check_subscribe_selectors(const std::vector<std::string>& selectors,
                                                     const TopicLimits& limits);

}  // namespace mercure
