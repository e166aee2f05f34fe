#include "core/publish_form.hpp"

#include "core/form_data.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>
#include <utility>

namespace mercure {

namespace {

bool has_sse_breaking_byte(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Digits only: for an unsigned type from_chars takes no sign, whitespace or base prefix and
// reports overflow; the whole string must also be consumed.
bool is_uint64(std::string_view s) noexcept {
  if (s.empty()) return false;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && end == s.data() + s.size();
}

// Where the value of a first-occurrence field goes: the field the first time, else `ignored`.
std::string* first(std::optional<std::string>& field, bool& seen, std::string& ignored) {
  if (seen) return &ignored;
  seen = true;
  return &field.emplace();
}

}  // namespace

Result<PublishForm> parse_publish_form(std::string_view body) {
  // Each value is decoded straight into its field; the values of ignored fields are decoded
  // too, since a malformed escape anywhere fails the whole form.
  PublishForm form;
  bool seen_data = false, seen_id = false, seen_type = false, seen_retry = false;
  std::string decoded_key;
  std::string ignored;
  std::string_view raw_key, raw_value;
  for (UrlencodedPairs pairs(body); pairs.next(raw_key, raw_value);) {
    // A key without '%' or '+' (topic, data, id...) is its own decoding.
    std::string_view key = raw_key;
    if (std::any_of(raw_key.begin(), raw_key.end(), [](char c) { return c == '%' || c == '+'; })) {
      if (!decode_urlencoded(raw_key, decoded_key)) return malformed_urlencoded("form", raw_key);
      key = decoded_key;
    }
    std::string* into = &ignored;
    if (key == "topic") {
      into = &form.topics.emplace_back();
    } else if (key == "data") {
      into = first(form.data, seen_data, ignored);
    } else if (key == "id") {
      into = first(form.id, seen_id, ignored);
    } else if (key == "type") {
      into = first(form.type, seen_type, ignored);
    } else if (key == "retry") {
      into = first(form.retry, seen_retry, ignored);
    } else if (key == "private") {
      form.is_private = true;
    }
    if (!decode_urlencoded(raw_value, *into)) return malformed_urlencoded("form", raw_key);
  }
  // An empty id, type or retry is the same as an absent one.
  for (auto* field : {&form.id, &form.type, &form.retry}) {
    if (*field && (*field)->empty()) field->reset();
  }

  if (form.topics.empty()) return Error{Errc::bad_request, "missing topic"};
  if (form.id) {
    if (form.id->front() == '#') return Error{Errc::bad_request, "id must not start with \"#\""};
    if (has_sse_breaking_byte(*form.id)) return Error{Errc::bad_request, "id must not contain CR, LF or NUL"};
    if (*form.id == "earliest") return Error{Errc::bad_request, "id \"earliest\" is reserved for resuming"};
  }
  if (form.type && has_sse_breaking_byte(*form.type)) {
    return Error{Errc::bad_request, "type must not contain CR, LF or NUL"};
  }
  if (form.retry && !is_uint64(*form.retry)) {
    return Error{Errc::bad_request, "retry must be an unsigned 64-bit integer"};
  }
  return form;
}

}  // namespace mercure
