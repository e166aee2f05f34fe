#include "http/request_framing.hpp"

#include <boost/beast/core/string.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http/header_text.hpp"

namespace mercure {

namespace http = boost::beast::http;

namespace {

// The transfer codings of every Transfer-Encoding line, in order, parameters included.
std::vector<std::string_view> transfer_codings(const http::request_header<>& head) {
  std::vector<std::string_view> out;
  for (const auto& f : head) {
    if (f.name() != http::field::transfer_encoding) continue;
    std::string_view value = f.value();
    for (;;) {
      const auto comma = value.find(',');
      const std::string_view item = trim_ows(value.substr(0, comma));
      if (!item.empty()) out.push_back(item);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return out;
}

// Whether the comma-separated list `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  for (;;) {
    const auto comma = value.find(',');
    if (boost::beast::iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<Error> framing_error(const http::request_header<>& head) {
  // One pass over the few fields of a request (on every publish: no look-ups by name, each a
  // walk of Beast's case-insensitive tree).
  int transfer_encodings = 0, hosts = 0, authorizations = 0, origins = 0;
  std::optional<std::string_view> expect;  // the first Expect line, as Go's server reads it
  for (const auto& f : head) {
    switch (f.name()) {
      case http::field::expect:
        if (!expect) expect = f.value();
        break;
      case http::field::transfer_encoding:
        ++transfer_encodings;
        break;
      case http::field::host:
        ++hosts;
        break;
      case http::field::authorization:
        ++authorizations;
        break;
      case http::field::origin:
        ++origins;
        break;
      default:
        break;
    }
  }
  if (transfer_encodings > 0) {
    if (head.version() < 11) return Error{Errc::bad_request, "Transfer-Encoding in an HTTP/1.0 request"};
    const auto codings = transfer_codings(head);
    if (codings.empty()) return Error{Errc::bad_request, "empty Transfer-Encoding"};
    if (!boost::beast::iequals(codings.back(), "chunked")) {
      return Error{Errc::bad_request,
                   "Transfer-Encoding must end with chunked (got \"" + printable_excerpt(codings.back()) + "\")"};
    }
    if (codings.size() > 1) {
      return Error{Errc::bad_request, "unsupported Transfer-Encoding \"" + printable_excerpt(codings.front()) +
                                          "\" (only chunked, once, is accepted)"};
    }
  }
  if (hosts > 1) return Error{Errc::bad_request, "more than one Host header"};
  if (hosts == 0 && head.version() >= 11) return Error{Errc::bad_request, "missing Host header (HTTP/1.1)"};
  if (authorizations > 1) return Error{Errc::bad_request, "more than one Authorization header"};
  if (origins > 1) return Error{Errc::bad_request, "more than one Origin header"};
  if (expect && !expect->empty() && !has_token(*expect, "100-continue")) {
    return Error{Errc::expectation_failed,
                 "unsupported Expect \"" + printable_excerpt(*expect) + "\" (only 100-continue is)"};
  }
  return std::nullopt;
}

bool expects_continue(const http::request_header<>& head) {
  const auto it = head.find(http::field::expect);
  return it != head.end() && has_token(it->value(), "100-continue");
}

}  // namespace mercure
