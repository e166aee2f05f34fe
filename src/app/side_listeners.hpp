#pragma once
// The listeners beside the hub's own, each a SideServer on its own thread: automatic HTTPS's HTTP
// port (redirects to HTTPS, ACME HTTP-01 challenges) and Caddy's admin endpoint (the health
// checks, /metrics and POST /stop the reference's deployments call). Either may fail to bind:
// that is a warning, and the hub runs without it. Start-up (main thread) only.

#include "app/config.hpp"
#include "http/admin_handler.hpp"
#include "http/side_server.hpp"

#include <memory>

namespace mercure {

class AcmeChallenges;

// The HTTP port of a site served over HTTPS under its name, or null (none configured, or not
// bound). `challenges`: where HTTP-01 answers are found (null: certificate files, no ACME).
[[nodiscard]] std::unique_ptr<SideServer> start_http_port(const Config& config,
                                                          std::shared_ptr<const AcmeChallenges> challenges);

// Caddy's admin endpoint at config.admin, or null (off, or not bound). `endpoint`: its answers;
// its allowed_hosts are filled here for a loopback address.
[[nodiscard]] std::unique_ptr<SideServer> start_admin_endpoint(const Config& config, AdminEndpoint endpoint);

}  // namespace mercure
