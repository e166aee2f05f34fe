#pragma once
// application/x-www-form-urlencoded bodies and URL query strings (WHATWG URL "urlencoded
// parsing", with strict percent-escapes as the reference hub's Go parser has), and RFC 3986
// percent-encoding.
//
// Decoded bytes are returned as they are: they may be any UTF-8 or binary, including NUL.
// Callers that put them anywhere bytes are interpreted (SSE fields, headers, logs) validate
// them there. Pure functions; safe to call from any thread.

#include "core/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Splits `input` (a body, or a query string without its leading '?') on '&' and each pair on
// its first '='. Keys and values are percent-decoded with '+' meaning space; pairs are kept
// in order, repeated keys included. Empty pairs ("a=1&&b=2", a trailing '&') are skipped; a
// pair without '=' has an empty value; "=v" has an empty key. ';' is an ordinary character.
// A '%' not followed by two hex digits, in a key or a value of any pair, fails the whole
// input: Error{bad_request, "malformed percent-encoding in <what> field \"<key>\""}, the key
// shown escaped and truncated so the reason stays one printable line. `what` is "form",
// "query"...
[[nodiscard]] Result<FormFields> parse_urlencoded(std::string_view input, std::string_view what = "form");

// The pairs of an urlencoded input one at a time, undecoded, split as parse_urlencoded splits
// them (empty pairs skipped), for a caller that decodes each value straight where it goes.
class UrlencodedPairs {
 public:
  explicit UrlencodedPairs(std::string_view input) : rest_(input) {}
  // The next pair's raw key and value (empty without '='); false after the last pair.
  bool next(std::string_view& raw_key, std::string_view& raw_value);

 private:
  std::string_view rest_;
};

// Decodes a raw key or value of a pair ('+' is a space) into `out`, replacing its content; false
// on a malformed escape (`out` is then unspecified).
[[nodiscard]] bool decode_urlencoded(std::string_view raw, std::string& out);

// The error parse_urlencoded returns for a malformed escape in the pair whose raw key is `raw_key`.
[[nodiscard]] Error malformed_urlencoded(std::string_view what, std::string_view raw_key);

// RFC 3986 percent-encoding with upper-case hex. Unreserved characters (ALPHA DIGIT - . _ ~)
// are always kept. With encode_reserved == false, the reserved characters
// (: / ? # [ ] @ ! $ & ' ( ) * + , ; =) are kept too; with true they are encoded (what RFC
// 6570 simple expansion does, e.g. for the variables of subscription topics). Everything
// else, '%' included, is encoded byte by byte.
[[nodiscard]] std::string percent_encode(std::string_view input, bool encode_reserved);

// Decodes %XX escapes (either hex case); '+' is a space only if plus_as_space. Returns
// nullopt for a '%' not followed by two hex digits.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view input, bool plus_as_space = false);

}  // namespace mercure
