// The composition root: the only place where the hub's objects are built and wired.

#include "app/cli.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "core/authorizer.hpp"
#include "core/clock.hpp"
#include "core/hub.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/local_transport.hpp"
#include "core/selector_cache.hpp"
#include "core/uuid.hpp"
#include "http/server.hpp"
#include "transport/lmdb_options.hpp"
#include "transport/lmdb_transport.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>

namespace {

using namespace mercure;

constexpr int kExitBadSetting = 2;

JwtKey jwt_key(const JwtRole& role, const char* name) {
  auto alg = parse_jwt_algorithm(role.algorithm);
  if (!alg) throw std::invalid_argument(std::string(name) + " algorithm \"" + role.algorithm + "\" is not supported");
  return JwtKey{*alg, role.key};
}

// Throws std::invalid_argument for a bad URL and StoreError for a store that cannot be opened.
std::unique_ptr<Transport> make_transport(const std::string& url) {
  if (url.starts_with("local:")) {
    spdlog::info("transport: local (no history: reconnecting clients cannot catch up)");
    return std::make_unique<LocalTransport>();
  }
  if (url.starts_with("lmdb:") || url.starts_with("bolt:")) {
    auto options = parse_lmdb_url(url);
    if (!options) throw std::invalid_argument("TRANSPORT_URL \"" + url + "\": " + options.error().reason);
    for (const auto& w : options->warnings) spdlog::warn("transport: {}", w);
    auto transport = std::make_unique<LmdbTransport>(*options);
    spdlog::info("transport: LMDB history at {} ({} events kept{}, {} stored)", options->path,
                 options->size == 0 ? std::string("all") : std::string("up to ") + std::to_string(options->size),
                 options->sync ? "" : ", sync off", transport->stored_events());
    return transport;
  }
  throw std::invalid_argument("TRANSPORT_URL \"" + url +
                              "\": unsupported transport (this build supports lmdb:// and local://)");
}

ServerOptions server_options(const Config& c) {
  ServerOptions o;
  o.host = c.listen_host;
  o.port = c.listen_port;
  o.workers = c.workers == 0 ? std::max(1U, std::thread::hardware_concurrency()) : c.workers;
  o.anonymous = c.anonymous;
  o.cors_origins = c.cors_origins;
  o.publish_origins = c.publish_origins;
  o.cookie_name = c.cookie_name;
  o.heartbeat = c.heartbeat;
  o.write_timeout = c.write_timeout;
  o.dispatch_timeout = c.dispatch_timeout;
  if (c.read_timeout.count() > 0) o.read_timeout = c.read_timeout;
  o.subscriptions = c.subscriptions;
  o.ui = c.ui || c.demo;
  o.demo = c.demo;
  return o;
}

int run_hub(const Config& config) {
  setup_logging(config.log_format, config.debug);

  // Signals are taken synchronously by this thread; every worker inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (!config.cert_file.empty() || !config.key_file.empty()) {
    std::fprintf(stderr,
                 "mercure-hub: CERT_FILE/KEY_FILE: TLS is not supported by this build yet; "
                 "terminate TLS at a reverse proxy\n");
    return kExitBadSetting;
  }
  // Accepted for compatibility, not served yet: say so rather than pretend.
  if (config.subscriptions) spdlog::warn("subscriptions: active subscription events are not implemented yet");
  if (config.ui || config.demo) spdlog::info("ui/demo: the debugging UI is not implemented yet");
  if (config.metrics_enabled) spdlog::warn("metrics: the /metrics endpoint is not implemented yet");

  SystemClock clock;
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<Transport> transport;
  try {
    authorizer = std::make_unique<Authorizer>(jwt_key(config.publisher_jwt, "publisher JWT"),
                                              jwt_key(config.subscriber_jwt, "subscriber JWT"), clock);
    transport = make_transport(config.transport_url);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mercure-hub: %s\n", e.what());
    return kExitBadSetting;
  }

  SelectorCache selectors(10'000);
  UuidGenerator uuids;
  Hub hub(*transport, selectors, uuids);
  Server server(server_options(config), hub, *authorizer, *transport);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mercure-hub: %s\n", e.what());
    return 1;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  transport->close();
  server.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  return mercure::run_cli(argc, argv, mercure::environment_map(envp), run_hub);
}
