// Fuzz target: form and query parsing.
//   - parse_urlencoded (core/form_data.hpp): never crashes; a success re-encodes and parses back
//     to the same fields; a failure is a one-line printable reason.
//   - percent_decode / percent_encode: decode(encode(x)) == x for any x, both reserved modes.
//   - parse_publish_form (core/publish_form.hpp): a success honours every promise of its header
//     (checked against parse_urlencoded's fields, an independent reading of the same bytes).
//   - parse_target (http/http_types.hpp): path is what precedes '?', the query is parsed as
//     parse_urlencoded parses it (up to a '#'), Target::first/all agree with the fields.
// The input is used whole, as a body and as a request target.

#include "core/form_data.hpp"
#include "core/publish_form.hpp"
#include "http/http_types.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace mercure;

bool one_printable_line(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string encode_fields(const FormFields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(k, true);
    out.push_back('=');
    out += percent_encode(v, true);
  }
  return out;
}

bool has_sse_breaking_byte(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void check_urlencoded(std::string_view input) {
  auto fields = parse_urlencoded(input, "form");
  if (!fields) {
    FUZZ_CHECK(fields.error().code == Errc::bad_request);
    FUZZ_CHECK_MSG(one_printable_line(fields.error().reason), fields.error().reason);
    FUZZ_CHECK(fields.error().reason.starts_with("malformed percent-encoding in form field \""));
    return;
  }
  // Empty pairs are skipped: a field never comes from nothing.
  FUZZ_CHECK(fields->size() <= input.size());
  const std::string again = encode_fields(*fields);
  auto reparsed = parse_urlencoded(again, "form");
  FUZZ_CHECK(reparsed.has_value());
  // "=" alone gives one field with an empty key and value; encode_fields writes it as "=",
  // so the field count is kept exactly.
  FUZZ_CHECK(*reparsed == *fields);
}

void check_percent(std::string_view input) {
  for (const bool reserved : {false, true}) {
    const std::string enc = percent_encode(input, reserved);
    auto dec = percent_decode(enc, false);
    FUZZ_CHECK(dec.has_value());
    FUZZ_CHECK(*dec == input);
    // Encoded text never holds a byte that needs escaping in a URL or a form.
    FUZZ_CHECK(enc.find_first_of(std::string_view(" \r\n\0\"<>\\^`{|}", 14)) == std::string::npos);
    if (reserved) FUZZ_CHECK(enc.find_first_of("&=+") == std::string::npos);
  }
  for (const bool plus : {false, true}) {
    auto dec = percent_decode(input, plus);
    if (!dec) continue;
    FUZZ_CHECK(dec->size() <= input.size());
    auto round = percent_decode(percent_encode(*dec, true), plus);
    FUZZ_CHECK(round.has_value() && *round == *dec);
  }
}

void check_publish_form(std::string_view input) {
  auto form = parse_publish_form(input);
  auto fields = parse_urlencoded(input, "form");
  if (!fields) {
    FUZZ_CHECK(!form.has_value());
    return;
  }
  if (!form) {
    FUZZ_CHECK(form.error().code == Errc::bad_request);
    FUZZ_CHECK_MSG(one_printable_line(form.error().reason), form.error().reason);
    return;
  }
  std::size_t topics = 0;
  const std::string* first_data = nullptr;
  const std::string* first_id = nullptr;
  const std::string* first_type = nullptr;
  const std::string* first_retry = nullptr;
  bool is_private = false;
  for (const auto& [k, v] : *fields) {
    if (k == "topic") {
      FUZZ_CHECK(topics < form->topics.size() && form->topics[topics] == v);
      ++topics;
    } else if (k == "data" && !first_data) {
      first_data = &v;
    } else if (k == "id" && !first_id) {
      first_id = &v;
    } else if (k == "type" && !first_type) {
      first_type = &v;
    } else if (k == "retry" && !first_retry) {
      first_retry = &v;
    } else if (k == "private") {
      is_private = true;
    }
  }
  FUZZ_CHECK(topics >= 1 && topics == form->topics.size());
  FUZZ_CHECK(form->is_private == is_private);
  FUZZ_CHECK(form->data.has_value() == (first_data != nullptr));
  if (first_data) FUZZ_CHECK(*form->data == *first_data);
  // id/type/retry: the first occurrence, an empty one meaning absent.
  auto expect_first = [](const std::optional<std::string>& got, const std::string* first) {
    if (!first || first->empty()) return !got.has_value();
    return got.has_value() && *got == *first;
  };
  FUZZ_CHECK(expect_first(form->id, first_id));
  FUZZ_CHECK(expect_first(form->type, first_type));
  FUZZ_CHECK(expect_first(form->retry, first_retry));
  if (form->id) {
    FUZZ_CHECK(!form->id->empty() && form->id->front() != '#');
    FUZZ_CHECK(!has_sse_breaking_byte(*form->id));
    FUZZ_CHECK(*form->id != "earliest");
  }
  if (form->type) FUZZ_CHECK(!form->type->empty() && !has_sse_breaking_byte(*form->type));
  if (form->retry) {
    // Digits only, leading zeros allowed, value <= UINT64_MAX.
    FUZZ_CHECK(!form->retry->empty());
    for (const char c : *form->retry) FUZZ_CHECK(c >= '0' && c <= '9');
    std::string_view digits = *form->retry;
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    FUZZ_CHECK(digits.size() < 20 || (digits.size() == 20 && digits <= "18446744073709551615"));
  }
}

void check_target(std::string_view input) {
  auto target = parse_target(input);
  const std::size_t q = input.find('?');
  if (q == std::string_view::npos) {
    FUZZ_CHECK(target.has_value());
    FUZZ_CHECK(target->path == input && target->query.empty());
    return;
  }
  std::string_view query = input.substr(q + 1);
  query = query.substr(0, query.find('#'));
  auto fields = parse_urlencoded(query, "query");
  FUZZ_CHECK(target.has_value() == fields.has_value());
  if (!target) {
    FUZZ_CHECK(target.error().code == Errc::bad_request);
    FUZZ_CHECK(target.error().reason == fields.error().reason);
    return;
  }
  FUZZ_CHECK(target->path == input.substr(0, q));
  FUZZ_CHECK(target->query == *fields);
  for (const auto& [k, v] : target->query) {
    const std::string* first = target->first(k);
    FUZZ_CHECK(first != nullptr);
    const auto all = target->all(k);
    FUZZ_CHECK(!all.empty() && all.front() == *first);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_urlencoded(input);
  check_percent(input);
  check_publish_form(input);
  check_target(input);
  return 0;
}
