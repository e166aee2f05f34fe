#pragma once
// Beast types and small response helpers shared by the handlers.

#include "core/error.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

namespace beast = boost::beast;
namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// A request's target split into path and decoded query parameters (in order, repeats kept).
struct Target {
  std::string_view path;
  std::vector<std::pair<std::string, std::string>> query;

  [[nodiscard]] const std::string* first(std::string_view key) const;
  [[nodiscard]] std::vector<std::string> all(std::string_view key) const;
};

// `prefixes` ({"/hub"}, or none): each removed in turn from the front of the path when the path
// starts with it followed by '/' (Caddy's handle_path /hub/* and uri strip_prefix; case does not count).
[[nodiscard]] Result<Target> parse_target(std::string_view target, std::span<const std::string> prefixes = {});

// Fields every response of the hub carries, as the reference's do: a browser neither sniffs a
// text answer (which may echo the request) as a document nor frames one.
inline constexpr std::string_view kNosniffField = "X-Content-Type-Options";
inline constexpr std::string_view kFrameOptionsField = "X-Frame-Options";
inline constexpr std::string_view kSecurityFieldsText = "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n";
void add_security_fields(Response& res);

// A text/plain response with the request's version and keep-alive.
[[nodiscard]] Response make_text_response(const Request& req, http::status status, std::string body);
// An application/json response, not to be cached, with the request's version and keep-alive.
[[nodiscard]] Response make_json_response(const Request& req, http::status status, std::string body);
// Seconds a client refused with 429 is asked to wait (Retry-After) before it tries again.
inline constexpr int kRetryAfterSeconds = 5;

// The response for an error: status from http_status(), body = reason + "\n"; a 429 also gets
// Retry-After.
[[nodiscard]] Response make_error_response(const Request& req, const Error& error);

// Appends to `out` the head Beast's serializer sends for `res`: status line, the fields in their
// order, blank line. With the body after it (unless the answer is to HEAD), these are the bytes
// http::async_write sends, for a fraction of the instructions of Beast's buffer views.
// Precondition: !res.chunked() (string bodies are sent with Content-Length).
void serialize_response_head(const Response& res, std::string& out);

// Appends the head of a 200 text response with a body of `body_size` bytes, built without a
// Beast message: the bytes serialize_response_head gives for make_text_response(req, ok, body)
// followed by add_cors_headers for `cors_origin` (an allowed Origin; empty: none), with
// Connection as `keep_alive` asks for `version` (as Response::keep_alive would set it).
void append_ok_text_head(std::string& out, unsigned version, bool keep_alive, std::size_t body_size,
                         std::string_view cors_origin);

// Writes what the kernel takes at once of `wire` with one non-blocking sendmsg on `socket`,
// which has no write pending: a small response usually goes whole, without an asynchronous
// write, its timer and a turn of the event loop. Drops what was sent from `wire`; true when
// nothing is left. On EAGAIN or an error `wire` is left as it was: the asynchronous write that
// follows sends the rest or meets the error again.
[[nodiscard]] bool send_now(boost::asio::ip::tcp::socket& socket, std::array<boost::asio::const_buffer, 2>& wire);
// Drops the first `sent` bytes from `wire`; true when nothing is left.
bool consume_sent(std::array<boost::asio::const_buffer, 2>& wire, std::size_t sent);

// Several Cookie fields become one, their values joined by "; " (clients that send one per
// cookie; RFC 6265 section 5.4 asks for one, and Go's reference hub reads them all).
void join_cookie_fields(Request& req);

// Cross-origin headers for an allowed Origin (echoed, with credentials). No-op otherwise.
void add_cors_headers(const Request& req, const std::vector<std::string>& cors_origins, Response& res);
[[nodiscard]] bool origin_allowed(std::string_view origin, const std::vector<std::string>& cors_origins);
// The answer to a CORS preflight (OPTIONS) for a resource that allows `methods`.
[[nodiscard]] Response make_preflight_response(const Request& req, const std::vector<std::string>& cors_origins,
                                               std::string_view methods = "GET, HEAD, POST, OPTIONS");
// An OPTIONS request a browser sends before a cross-origin request (it names the method).
[[nodiscard]] inline bool is_preflight(const Request& req) {
  return req.method() == boost::beast::http::verb::options &&
         req.find(boost::beast::http::field::access_control_request_method) != req.end();
}

}  // namespace mercure
