#pragma once
// JSON parsing for security decisions: like boost::json::parse, but a document in which any
// object repeats a key is rejected. Boost.JSON 1.81 silently keeps the last duplicate, while other
// parsers keep the first, so such a document means different things to different readers (a JWT
// with two "exp" or two "alg" members must not be accepted).
// Thread-safety: pure function. Never throws on bad input (only std::bad_alloc).

#include "core/error.hpp"

#include <boost/json/value.hpp>

#include <string_view>

namespace mercure {

// Parses one complete JSON text (RFC 8259: strict syntax, valid UTF-8, no comments, depth <= 32,
// no number beyond the range of a double such as 1e400: Boost.JSON would make it an infinity
// and serialize that as `Infinity`, which is not JSON).
// `what` names the document in the reason, e.g. "header" -> "header is not valid JSON (...)" or
// "duplicate key \"alg\" in header". Errors are Errc::bad_request.
[[nodiscard]] Result<boost::json::value> parse_strict_json(std::string_view text, std::string_view what);

}  // namespace mercure
