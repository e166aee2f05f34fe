#pragma once
// Checks of a request head made before its body is read: how the body is delimited (RFC 9112
// 6.1, 6.3), and the fields that must appear once (Host, RFC 9112 3.2; the credentials). Beast reads a request whose
// Transfer-Encoding does not end in "chunked" as having no body, so the body's bytes would be parsed as the next
// request on a kept-alive connection (request smuggling, behind a proxy that frames it differently). Such a request
// gets 400 and the connection is closed.

#include <boost/beast/http/message.hpp>

#include <optional>

#include "core/error.hpp"

namespace mercure {

// The 400 for a head whose framing is ambiguous or not supported: a Transfer-Encoding other
// than exactly "chunked" (another coding, "chunked" not last, twice, or in an HTTP/1.0
// request), or an HTTP/1.1 request without exactly one Host. Also a head that names two
// credentials or two origins (Authorization or Origin twice): which one would count is a guess.
// And the 417 for an Expect other than 100-continue (as Go's server answers: an expectation the
// hub cannot meet must not be ignored). nullopt when the head is fine.
[[nodiscard]] std::optional<Error> framing_error(const boost::beast::http::request_header<>& head);

// Whether the client waits for "100 Continue" before its body (the first Expect line lists
// 100-continue, in any case).
[[nodiscard]] bool expects_continue(const boost::beast::http::request_header<>& head);

}  // namespace mercure
