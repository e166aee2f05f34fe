#pragma once
// The part of Caddy's admin endpoint that the reference hub's deployments call: its Helm chart's
// readiness and liveness probes and preStop hook, its image's HEALTHCHECK, scrapes of the admin
// port. Served on a SideServer at Caddy's admin address (localhost:2019 unless the `admin` global
// option or CADDY_ADMIN says otherwise):
//   GET /mercure/health/ready  200 {"status":"ok"} while the transport accepts publishes and the
//                              hub is not stopping, else 503 {"status":"error",...}
//   GET /mercure/health/live   200 {"status":"ok"} (the process answers)
//   GET /metrics               the Prometheus page when metrics are on, else 404
//   POST /stop                 a graceful shutdown, as SIGTERM (200 first)
// Anything else is 404 (Caddy's configuration API is not offered). As Caddy does for a loopback
// admin address, a request whose Host is not that address, or that carries an Origin other than
// it (a web page's cross-site request: DNS rebinding, a POST /stop), is refused with 403.

#include "http/http_types.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mercure {

class MetricsSource;

struct AdminEndpoint {
  std::function<bool()> ready;             // the transport accepts publishes, the hub is not stopping
  const MetricsSource* metrics = nullptr;  // null: metrics are off
  std::function<void()> stop;              // starts a graceful shutdown
  // Host values accepted ("localhost:2019", "127.0.0.1:2019", ...); empty: any (an admin address
  // that is not loopback, as Caddy).
  std::vector<std::string> allowed_hosts;
};

[[nodiscard]] Response admin_response(const Request& req, const AdminEndpoint& admin);

// The Host values a loopback admin listener on `port` accepts.
[[nodiscard]] std::vector<std::string> loopback_admin_hosts(std::uint16_t port);

}  // namespace mercure
