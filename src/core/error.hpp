#pragma once
// One error type for the request path, and its one mapping to an HTTP status.
// Request-path code returns Result<T> instead of throwing; exceptions are for start-up only.

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace mercure {

enum class Errc {
  bad_request,         // 400: malformed input (form, query, selector, field)
  unauthorized,        // 401: missing or invalid credentials
  forbidden,           // 403: valid credentials, not allowed
  not_found,           // 404
  method_not_allowed,  // 405
  request_timeout,     // 408: a request not received within the read timeouts
  conflict,            // 409: an event with this id is already stored
  expectation_failed,  // 417: an Expect the hub does not meet (only 100-continue is)
  payload_too_large,   // 413
  header_too_large,    // 431
  too_many_requests,   // 429
  unavailable,         // 503: transport not writable, shutting down
  internal,            // 500
};

struct Error {
  Errc code = Errc::internal;
  std::string reason;  // one line, safe to show to the client and to log
  // The check that failed, as a fixed slug for logs and metrics (a string literal: static
  // storage only), e.g. "signature", "exp", "missing" for a token. Empty when not set.
  std::string_view check;

  Error() = default;
  Error(Errc c, std::string r) : code(c), reason(std::move(r)) {}
  Error(Errc c, std::string r, std::string_view chk) : code(c), reason(std::move(r)), check(chk) {}
};

template <class T>
using Result = boost::system::result<T, Error>;

// Text taken from a request (an algorithm name, a transfer coding) quoted in a reason: at most
// 32 characters, each outside printable ASCII shown as '?', so the reason stays one short line.
[[nodiscard]] std::string printable_excerpt(std::string_view s);

// The only place an error becomes a status code.
int http_status(Errc code) noexcept;
const char* errc_name(Errc code) noexcept;

// Required by boost::system::result<T, Error>::value() (found by ADL); throws std::runtime_error.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace mercure
