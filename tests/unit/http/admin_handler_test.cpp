#include "http/admin_handler.hpp"

#include "http/metrics_handler.hpp"

#include <gtest/gtest.h>

namespace mercure {
namespace {

class FixedMetrics final : public MetricsSource {
 public:
  [[nodiscard]] std::string render() const override { return "mercure_test_total 1\n"; }
};

Request request(http::verb method, std::string target, std::string host = "127.0.0.1:2019") {
  Request req{method, target, 11};
  req.set(http::field::host, host);
  return req;
}

struct Admin {
  bool ready = true;
  int stops = 0;
  FixedMetrics metrics;
  AdminEndpoint endpoint{[this] { return ready; }, &metrics, [this] { ++stops; }, loopback_admin_hosts(2019)};
};

TEST(AdminEndpoint, HealthChecksAnswerAsTheReferencesCaddyModule) {
  Admin admin;
  auto res = admin_response(request(http::verb::get, "/mercure/health/ready"), admin.endpoint);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "{\"status\":\"ok\"}\n");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(admin_response(request(http::verb::get, "/mercure/health/live/"), admin.endpoint).result(),
            http::status::ok);

  admin.ready = false;  // the transport refuses publishes, or the hub is stopping
  res = admin_response(request(http::verb::get, "/mercure/health/ready"), admin.endpoint);
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "{\"status\":\"error\",\"error\":\"transport health check failed\"}\n");
  EXPECT_EQ(admin_response(request(http::verb::get, "/mercure/health/live"), admin.endpoint).result(),
            http::status::ok);
  EXPECT_EQ(admin_response(request(http::verb::post, "/mercure/health/ready"), admin.endpoint).result(),
            http::status::method_not_allowed);
}

TEST(AdminEndpoint, MetricsWhenOnAndStopOnPostOnly) {
  Admin admin;
  auto res = admin_response(request(http::verb::get, "/metrics"), admin.endpoint);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "mercure_test_total 1\n");
  AdminEndpoint off = admin.endpoint;
  off.metrics = nullptr;
  EXPECT_EQ(admin_response(request(http::verb::get, "/metrics"), off).result(), http::status::not_found);

  EXPECT_EQ(admin_response(request(http::verb::get, "/stop"), admin.endpoint).result(),
            http::status::method_not_allowed);
  EXPECT_EQ(admin.stops, 0);
  EXPECT_EQ(admin_response(request(http::verb::post, "/stop"), admin.endpoint).result(), http::status::ok);
  EXPECT_EQ(admin.stops, 1);
  // Caddy's configuration API is not offered.
  for (const char* path : {"/config/", "/load", "/", "/mercure/health/other"}) {
    EXPECT_EQ(admin_response(request(http::verb::get, path), admin.endpoint).result(), http::status::not_found) << path;
  }
}

TEST(AdminEndpoint, ALoopbackAddressRefusesOtherHostsAndCrossSiteOrigins) {
  Admin admin;
  for (const char* host : {"localhost:2019", "127.0.0.1:2019", "[::1]:2019", "LOCALHOST:2019", "localhost"}) {
    EXPECT_EQ(admin_response(request(http::verb::get, "/mercure/health/live", host), admin.endpoint).result(),
              http::status::ok)
        << host;
  }
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
  for (const char* host : {"evil.example:2019", "127.0.0.1:2020", ""}) {
    EXPECT_EQ(admin_response(request(http::verb::get, "/mercure/health/live", host), admin.endpoint).result(),
              http::status::forbidden)
        << host;
  }
  // A web page's cross-site POST /stop (no preflight for a simple POST): its Origin gives it away.
  auto cross = request(http::verb::post, "/stop");
  cross.set(http::field::origin, "https://evil.example");
  EXPECT_EQ(admin_response(cross, admin.endpoint).result(), http::status::forbidden);
  cross.set(http::field::origin, "null");
  EXPECT_EQ(admin_response(cross, admin.endpoint).result(), http::status::forbidden);
  // A page on http://localhost (port 80) is another origin than the admin address.
  for (const char* origin : {"http://localhost", "http://127.0.0.1", "http://localhost:2020"}) {
    cross.set(http::field::origin, origin);
    EXPECT_EQ(admin_response(cross, admin.endpoint).result(), http::status::forbidden) << origin;
  }
  EXPECT_EQ(admin.stops, 0);
  cross.set(http::field::origin, "http://localhost:2019");
  EXPECT_EQ(admin_response(cross, admin.endpoint).result(), http::status::ok);
  EXPECT_EQ(admin.stops, 1);
  // Not loopback (admin :2019 for a scraper): any Host, as Caddy.
  AdminEndpoint open = admin.endpoint;
  open.allowed_hosts.clear();
  EXPECT_EQ(admin_response(request(http::verb::get, "/metrics", "10.0.0.7:2019"), open).result(), http::status::ok);
}

}  // namespace
}  // namespace mercure
