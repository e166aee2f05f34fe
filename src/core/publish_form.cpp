#include "core/publish_form.hpp"

#include "core/form_data.hpp"

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

// First occurrence wins; an empty value counts as absent when `empty_is_absent`.
void set_first(std::optional<std::string>& field, bool& seen, std::string&& value, bool empty_is_absent) {
  if (seen) return;
  seen = true;
  if (empty_is_absent && value.empty()) return;
  field = std::move(value);
}

}  // namespace

Result<PublishForm> parse_publish_form(std::string_view body) {
  auto fields = parse_urlencoded(body, "form");
  if (!fields) return fields.error();

  PublishForm form;
  bool seen_data = false, seen_id = false, seen_type = false, seen_retry = false;
  for (auto& [key, value] : *fields) {
    if (key == "topic") {
      form.topics.push_back(std::move(value));
    } else if (key == "data") {
      set_first(form.data, seen_data, std::move(value), false);
    } else if (key == "id") {
      set_first(form.id, seen_id, std::move(value), true);
    } else if (key == "type") {
      set_first(form.type, seen_type, std::move(value), true);
    } else if (key == "retry") {
      set_first(form.retry, seen_retry, std::move(value), true);
    } else if (key == "private") {
      form.is_private = true;
    }
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
