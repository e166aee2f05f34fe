#include "core/error.hpp"

#include <stdexcept>

namespace mercure {

std::string printable_excerpt(std::string_view s) {
  constexpr std::size_t kMax = 32;
  std::string out;
  for (const char c : s.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  if (s.size() > kMax) out += "...";
  return out;
}

int http_status(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request:
      return 400;
    case Errc::unauthorized:
      return 401;
    case Errc::forbidden:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::method_not_allowed:
      return 405;
    case Errc::request_timeout:
      return 408;
    case Errc::conflict:
      return 409;
    case Errc::expectation_failed:
      return 417;
    case Errc::payload_too_large:
      return 413;
    case Errc::header_too_large:
      return 431;
    case Errc::too_many_requests:
      return 429;
    case Errc::unavailable:
      return 503;
    case Errc::internal:
      return 500;
  }
  return 500;
}

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::bad_request:
      return "bad_request";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::forbidden:
      return "forbidden";
    case Errc::not_found:
      return "not_found";
    case Errc::method_not_allowed:
      return "method_not_allowed";
    case Errc::request_timeout:
      return "request_timeout";
    case Errc::conflict:
      return "conflict";
    case Errc::expectation_failed:
      return "expectation_failed";
    case Errc::payload_too_large:
      return "payload_too_large";
    case Errc::header_too_large:
      return "header_too_large";
    case Errc::too_many_requests:
      return "too_many_requests";
    case Errc::unavailable:
      return "unavailable";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

void throw_exception_from_error(const Error& e, const boost::source_location& /*loc*/) {
  throw std::runtime_error(e.reason);
}

}  // namespace mercure
