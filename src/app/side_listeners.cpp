#include "app/side_listeners.hpp"

#include "http/acme_challenges.hpp"
#include "http/https_redirect.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace mercure {

std::unique_ptr<SideServer> start_http_port(const Config& config, std::shared_ptr<const AcmeChallenges> challenges) {
  const std::string domain = config.redirect_domain();
  if (domain.empty()) return nullptr;
  const bool acme = challenges != nullptr;
  const HttpsRedirect site{domain, parse_site_address(config.site).port.value_or(std::uint16_t{443}),
                           std::move(challenges)};
  auto server = std::make_unique<SideServer>("HTTP redirects", std::chrono::seconds(15));
  try {
    server->bind(config.listen_host, config.http_port);
    server->start([site](const Request& req) { return https_redirect_response(req, site); });
  } catch (const std::exception& e) {
    spdlog::warn("{}: HTTP is not redirected to HTTPS{} (auto_https disable_redirects turns this listener off)",
                 e.what(), acme ? ", and the CA validates on the HTTPS port only (TLS-ALPN-01)" : "");
    return nullptr;
  }
  spdlog::info("HTTP on port {} redirects to https://{}{}", server->port(), domain,
               acme ? " and answers the ACME CA's HTTP-01 challenges" : "");
  return server;
}

std::unique_ptr<SideServer> start_admin_endpoint(const Config& config, AdminEndpoint endpoint) {
  if (config.admin.empty()) return nullptr;
  auto server = std::make_unique<SideServer>("the admin endpoint");
  try {
    const ListenAddress addr = parse_listen_address(config.admin);
    server->bind(addr.host, addr.port);
    const bool loopback = addr.host == "localhost" || addr.host == "127.0.0.1" || addr.host == "::1";
    if (loopback) endpoint.allowed_hosts = loopback_admin_hosts(server->port());
    server->start([endpoint = std::move(endpoint)](const Request& req) { return admin_response(req, endpoint); });
  } catch (const std::exception& e) {
    spdlog::warn(
        "{}: no admin endpoint (health checks on the hub's port: /healthz, /healthz/ready; CADDY_ADMIN=off or the "
        "global option admin off turns it off)",
        e.what());
    return nullptr;
  }
  spdlog::info("admin endpoint on {} (/mercure/health/ready, /mercure/health/live, /metrics, POST /stop)",
               server->url());
  return server;
}

}  // namespace mercure
