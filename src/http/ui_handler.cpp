#include "http/ui_handler.hpp"

#include "http/shard.hpp"
#include "http/ui_assets.hpp"

#include <array>
#include <utility>

namespace mercure {

namespace {

constexpr std::string_view kUiRoot = "/.well-known/mercure/ui";
constexpr std::string_view kUiPrefix = "/.well-known/mercure/ui/";
constexpr std::string_view kDemoPrefix = "/.well-known/mercure/ui/demo/";
constexpr std::string_view kHubPath = "/.well-known/mercure";
constexpr std::string_view kDefaultCookieName = "mercureAuthorization";

// The UI loads its own script, style sheet and icon and talks to the hub on the same origin;
// nothing else (no inline code, no other origin, no framing).
constexpr std::string_view kUiCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Response not_found(const Request& req) {
  return make_text_response(req, http::status::not_found, "not found\n");
}

Response serve_asset(const Request& req, const UiAsset& asset) {
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, asset.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", kUiCsp);
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.keep_alive(req.keep_alive());
  res.body().assign(asset.bytes.data(), asset.bytes.size());
  res.prepare_payload();
  return res;
}

// "/.well-known/mercure/ui" has no trailing slash: the page's relative URLs need one. The
// location is relative ("ui/" from ".../mercure/ui"), so a path prefix before the hub is kept.
Response redirect_to_root(const Request& req) {
  auto res = make_text_response(req, http::status::moved_permanently, std::string(kUiPrefix) + "\n");
  res.set(http::field::location, "ui/");
  return res;
}

// Demo: the content type of the echoed body, from the extension of the path's last segment.
std::string_view demo_content_type(std::string_view path) {
  auto slash = path.rfind('/');
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  auto ext = name.substr(dot);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTypes{{
      {".jsonld", "application/ld+json"},
      {".json", "application/json"},
      {".html", "text/html; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".xml", "text/xml; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
  }};
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return {};
}

// A cookie-octet (RFC 6265): no control characters, whitespace, '"', ',', ';' or '\'. This
// also keeps a decoded query value from injecting header lines.
bool valid_cookie_value(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  }
  return true;
}

// The raw request target inside <...>: anything that could end the URI reference or the
// header is percent-encoded (Beast accepts a few such bytes in targets).
std::string link_uri(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size());
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Echoes ?body= with discovery headers and sets (or clears) the authorization cookie from
// ?jwt=, so a developer can try discovery and cookie authorization from a browser.
Response handle_demo(const ServerOptions& opts, const Request& req, const Target& target) {
  const std::string* jwt = target.first("jwt");
  if (jwt != nullptr && !valid_cookie_value(*jwt)) {
    return make_text_response(req, http::status::bad_request, "jwt: not a valid cookie value\n");
  }
  Response res{http::status::ok, req.version()};
  if (auto type = demo_content_type(target.path); !type.empty()) res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-cache");
  add_security_fields(res);  // the body is the request's: never framed

  const std::string hub_path = opts.path_prefix + std::string(kHubPath);  // as the browser reaches it
  std::string hub_link = "<" + hub_path + ">; rel=\"mercure\"";
  if (opts.cookie_name != kDefaultCookieName) hub_link += "; cookie-name=\"" + opts.cookie_name + "\"";
  res.insert(http::field::link, hub_link);
  res.insert(http::field::link, "<" + link_uri(req.target()) + ">; rel=\"self\"");

  std::string cookie = opts.cookie_name + "=";
  if (jwt != nullptr && !jwt->empty()) {
    cookie += *jwt;
  } else {
    cookie += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";  // removes an older one
  }
  cookie += "; Path=" + hub_path + "; HttpOnly; SameSite=Strict";
  res.set(http::field::set_cookie, cookie);

  res.keep_alive(req.keep_alive());
  if (const std::string* body = target.first("body")) res.body() = *body;
  res.prepare_payload();
  return res;
}

}  // namespace

bool is_ui_path(const Shard* shard, std::string_view path) {
  const auto& o = shard->options();
  return (o.ui || o.demo) && (path.starts_with(kUiPrefix) || path == kUiRoot);
}

Response handle_ui(Shard* shard, const Request& req, const Target& target) {
  if (target.path == kUiRoot) return redirect_to_root(req);
  if (target.path.starts_with(kDemoPrefix)) {
    if (!shard->options().demo) return not_found(req);
    return handle_demo(shard->options(), req, target);
  }
  // Exact embedded names only: the raw (undecoded) path is compared with the table, so
  // "..", "%2e%2e", "//" or a query never reach anything but a 404.
  auto relative = target.path.substr(kUiPrefix.size());
  if (relative.empty()) relative = "index.html";
  const UiAsset* asset = find_ui_asset(relative);
  if (asset == nullptr) return not_found(req);
  return serve_asset(req, *asset);
}

}  // namespace mercure
