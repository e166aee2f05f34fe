#pragma once
// The HTTP port of a site served over HTTPS under its name (automatic HTTPS, as Caddy serves the
// reference hub): GET/HEAD /.well-known/acme-challenge/<token> of a pending ACME HTTP-01
// challenge answers its key authorization; every other request is redirected (308, method and
// body kept) to the same target over HTTPS on the site's name. Runs on a SideServer.

#include "http/http_types.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace mercure {

class AcmeChallenges;

struct HttpsRedirect {
  std::string domain;                                // the site's name, lower case
  std::uint16_t https_port = 443;                    // written in the Location when not 443
  std::shared_ptr<const AcmeChallenges> challenges;  // null: no HTTP-01 answers
};

inline constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";

[[nodiscard]] Response https_redirect_response(const Request& req, const HttpsRedirect& site);

}  // namespace mercure
