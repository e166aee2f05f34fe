#include "http/https_redirect.hpp"

#include "http/acme_challenges.hpp"

#include <string>
#include <string_view>

namespace mercure {

namespace {

// The path and query of a request target: as sent in origin form, after the authority in
// absolute form (a proxy's request), "/" otherwise (OPTIONS *, an authority alone).
std::string path_and_query(std::string_view target) {
  if (target.starts_with('/')) return std::string(target);
  if (const auto scheme = target.find("://"); scheme != std::string_view::npos) {
    const auto path = target.find_first_of("/?", scheme + 3);
    if (path != std::string_view::npos) return (target[path] == '/' ? "" : "/") + std::string(target.substr(path));
  }
  return "/";
}

}  // namespace

Response https_redirect_response(const Request& req, const HttpsRedirect& site) {
  const std::string target = path_and_query(req.target());
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  if (site.challenges && path.starts_with(kAcmeChallengePrefix) &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    const std::string_view token = path.substr(kAcmeChallengePrefix.size());
    if (auto answer = site.challenges->find_http(token)) {
      auto res = make_text_response(req, http::status::ok, std::move(*answer));
      res.set(http::field::content_type, "text/plain");
      return res;
    }
    return make_text_response(req, http::status::not_found, "no ACME challenge pending for this token\n");
  }
  std::string location = "https://" + site.domain;
  if (site.https_port != 443) location += ":" + std::to_string(site.https_port);
  location += target;
  auto res = make_text_response(req, http::status::permanent_redirect, "");
  res.set(http::field::location, location);
  res.set(http::field::cache_control, "no-store");  // the redirect follows the configuration, which may change
  return res;
}

}  // namespace mercure
