// The composition root: the only place where the hub's objects are built and wired.

#include "app/acme_manager.hpp"
#include "app/cli.hpp"
#include "app/config.hpp"
#include "app/document_fetch.hpp"
#include "app/drain.hpp"
#include "app/jwks_fetcher.hpp"
#include "app/logging.hpp"
#include "app/prometheus_metrics.hpp"
#include "app/side_listeners.hpp"
#include "core/authorizer.hpp"
#include "core/clock.hpp"
#include "core/hub.hpp"
#include "core/jwt_algorithm.hpp"
#include "core/local_transport.hpp"
#include "core/metrics.hpp"
#include "core/selector_cache.hpp"
#include "core/sharded_metrics.hpp"
#include "core/subscription_registry.hpp"
#include "core/uuid.hpp"
#include "http/acme_challenges.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "transport/lmdb_options.hpp"
#include "transport/lmdb_transport.hpp"
#include "transport/redis_options.hpp"
#include "transport/redis_transport.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#ifndef MERCURE_HUB_VERSION
#error "MERCURE_HUB_VERSION is defined by CMakeLists.txt (the project version)"
#endif

namespace {

using namespace mercure;

constexpr int kExitBadSetting = 2;

// A role's keys: the configured key, or a key set whose fetcher is added to `fetchers` and
// loaded now (throws std::runtime_error when it cannot be).
JwtKey jwt_key(const JwtRole& role, const char* name, std::vector<std::unique_ptr<JwksFetcher>>& fetchers) {
  if (!role.jwks_url.empty()) {
    auto source = std::make_shared<KeySetSource>(role.jwks_url);
    fetchers.push_back(std::make_unique<JwksFetcher>(name, source));
    fetchers.back()->load();
    return JwtKey{JwtAlgorithm::HS256, "", std::move(source)};
  }
  auto alg = parse_jwt_algorithm(role.algorithm);
  if (!alg)
    throw std::invalid_argument(std::string(name) + " JWT algorithm \"" + role.algorithm + "\" is not supported");
  return JwtKey{*alg, role.key, nullptr};
}

// Closes a transport when it goes out of scope (close() is idempotent).
struct CloseOnExit {
  Transport& transport;
  ~CloseOnExit() { transport.close(); }
};

// Throws std::invalid_argument for a bad URL and StoreError for a store that cannot be opened.
// `metrics`: optional (nullptr when metrics are off).
std::unique_ptr<Transport> make_transport(const std::string& url, Metrics* metrics) {
  if (url.starts_with("local:")) {
    spdlog::info("transport: local (no history: reconnecting clients cannot catch up)");
    return std::make_unique<LocalTransport>(metrics);
  }
  if (url.starts_with("lmdb:") || url.starts_with("bolt:")) {
    auto options = parse_lmdb_url(url);
    if (!options) throw std::invalid_argument("TRANSPORT_URL \"" + url + "\": " + options.error().reason);
    for (const auto& w : options->warnings) spdlog::warn("transport: {}", w);
    auto transport = std::make_unique<LmdbTransport>(*options, metrics);
    spdlog::info("transport: LMDB history at {} ({} events kept{}, {} stored)", options->path,
                 options->size == 0 ? std::string("all") : std::string("up to ") + std::to_string(options->size),
                 options->sync ? "" : ", sync off", transport->stored_events());
    return transport;
  }
  if (url.starts_with("redis:") || url.starts_with("rediss:")) {
    auto options = parse_redis_url(url);
    if (!options) throw std::invalid_argument("TRANSPORT_URL: " + options.error().reason);
    if (options->tls && options->tls->insecure_skip_verify) {
      spdlog::warn(
          "transport: tls_insecure_skip_verify=true: the certificate of Redis at {} is not checked (anyone "
          "on the path may read and change the cluster's updates)",
          options->describe());
    }
    auto transport = std::make_unique<RedisTransport>(*options, metrics);
    spdlog::info("transport: Redis stream \"{}\" at {} ({} events kept)", options->stream, options->describe(),
                 options->size == 0 ? std::string("all") : std::string("up to ") + std::to_string(options->size));
    return transport;
  }
  throw std::invalid_argument("transport URL \"" + redact_url(url) +
                              "\": unsupported transport (this build supports lmdb://, redis:// and local://)");
}

// Raises the soft open-file limit to the hard one (as Go programs, the reference hub included,
// do at start-up) and returns the connections that fit under it: the limit minus a reserve for
// the store, listeners, event loops and refused connections still being answered, so the hub
// answers 429 before accept() starts failing. Half the limit when it is too small for the reserve.
std::size_t automatic_max_connections(unsigned workers) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return 0;
  if (files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  if (files.rlim_cur == RLIM_INFINITY) return 0;
  const auto limit = static_cast<std::size_t>(files.rlim_cur);
  const std::size_t reserve = 64 + std::size_t{24} * workers;
  return limit > 2 * reserve ? limit - reserve : limit / 2;
}

ServerOptions server_options(const Config& c) {
  ServerOptions o;
  o.host = c.listen_host;
  o.port = c.listen_port;
  o.workers = c.workers == 0 ? std::max(1U, std::thread::hardware_concurrency()) : c.workers;
  o.anonymous = c.anonymous;
  o.cors_origins = c.cors_origins;
  o.h2 = c.h2;
  o.h2c = c.h2c;
  o.publish_origins = c.publish_origins;
  o.cookie_name = c.cookie_name;
  o.heartbeat = c.heartbeat;
  o.write_timeout = c.write_timeout;
  o.dispatch_timeout = c.dispatch_timeout;
  o.read_timeout = c.read_timeout;
  o.read_header_timeout = c.read_header_timeout;
  o.idle_timeout = c.idle_timeout;
  o.max_body_bytes = c.max_body_size;
  o.max_header_bytes = c.max_header_size;
  o.topic_limits.max_topics = c.max_topics;
  o.topic_limits.max_selectors = c.max_selectors;
  o.topic_limits.max_topic_length = c.max_topic_length;
  o.max_connections = c.max_connections != 0 ? c.max_connections : automatic_max_connections(o.workers);
  o.max_connections_per_ip = c.max_connections_per_ip;
  o.max_streams_per_token = c.max_streams_per_token;
  o.subscriptions = c.subscriptions;
  o.ui = c.ui || c.demo;
  o.demo = c.demo;
  o.io_uring = c.io_uring;
  o.path_prefixes = c.path_prefixes;
  for (const auto& p : c.path_prefixes) o.path_prefix += p;
  return o;
}

// The certificate served, and a warning when clients are about to refuse it.
void log_certificate(const TlsContext& ctx, const char* what) {
  bool warning = false;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const std::string text = describe_certificate(ctx, now.count(), warning);
  if (warning) {
    spdlog::warn("{}: {}", what, text);
  } else {
    spdlog::info("{}: {}", what, text);
  }
}

int run_hub(const Config& config) {
  setup_logging(config.log_format, config.debug);

  // Signals are taken synchronously by this thread; every worker inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // a closing terminal or a supervisor's "reload": not a stop
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (RLIMIT_FSIZE) reached by the history store must fail that write with
  // EFBIG (the commit answers 503, the hub goes on) instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);

  if (!config.metrics_enabled && !config.metrics_addr.empty()) {
    spdlog::warn("metrics: METRICS_ADDR is set but metrics are off (set METRICS_ENABLED=1)");
  }

  ServerOptions options = server_options(config);
  const std::string acme_domain = config.acme_domain();
  if (config.cert_file.empty() && acme_domain.empty()) {
    // SERVER_NAME=https://localhost (Caddy would use its local CA) lands here too.
    bool https_site = false;
    try {
      https_site = !config.site.empty() && parse_site_address(config.site).scheme == "https";
    } catch (const std::invalid_argument&) {
    }
    if (config.listen_port == 443 || https_site) {
      spdlog::warn("listening on port {} in plain HTTP: set CERT_FILE and KEY_FILE to serve HTTPS{}",
                   config.listen_port, https_site ? " (the site address says https://)" : "");
    }
  }
  if (!config.cert_file.empty()) {
    // Both are set (the config builder refuses one without the other).
    try {
      options.tls = std::make_shared<TlsCertificates>(config.cert_file, config.key_file, config.h2);
      log_certificate(*options.tls->current(), "TLS");
    } catch (const TlsSetupError& e) {
      std::fprintf(stderr, "mercure-hub: %s\n", e.what());
      return kExitBadSetting;
    }
  }
  // Automatic HTTPS: the listener serves TLS from the start, with the stored certificate or,
  // until one is obtained, only the ACME server's challenges.
  std::unique_ptr<AcmeManager> acme;
  std::shared_ptr<AcmeChallenges> challenges;
  if (!acme_domain.empty()) {
    challenges = std::make_shared<AcmeChallenges>();
    options.tls = std::make_shared<TlsCertificates>(config.h2, challenges);
    acme = std::make_unique<AcmeManager>(
        AcmeSettings{acme_domain, config.acme_ca, config.acme_ca_root, config.acme_email, config.acme_dir}, options.tls,
        challenges);
    spdlog::info("acme: automatic HTTPS for \"{}\" (certificates from {}, kept in \"{}\")", acme_domain, config.acme_ca,
                 config.acme_dir);
    if (config.listen_port != 443) {
      spdlog::warn(
          "acme: this hub listens on port {}, and the CA checks \"{}\" on port 443: forward 443 to it; for plain "
          "HTTP behind a proxy that terminates TLS, set SERVER_NAME=http://{} (or auto_https off)",
          config.listen_port, acme_domain, acme_domain);
    }
    if (auto ready = acme->prepare(); !ready) {
      std::fprintf(stderr, "mercure-hub: %s\n", ready.error().reason.c_str());
      return kExitBadSetting;
    }
  }
  // Declared before the transport and the server, which report to it until they are gone.
  NullMetrics null_metrics;
  std::unique_ptr<ShardedMetrics> sharded_metrics;
  if (config.metrics_enabled) sharded_metrics = std::make_unique<ShardedMetrics>(options.workers);
  Metrics& metrics = sharded_metrics ? static_cast<Metrics&>(*sharded_metrics) : null_metrics;

  SystemClock clock;
  std::vector<std::unique_ptr<JwksFetcher>> key_set_fetchers;  // stopped after the server
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<Transport> transport;
  try {
    authorizer = std::make_unique<Authorizer>(jwt_key(config.publisher_jwt, "publisher", key_set_fetchers),
                                              jwt_key(config.subscriber_jwt, "subscriber", key_set_fetchers), clock);
    transport = make_transport(config.transport_url, sharded_metrics.get());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mercure-hub: %s\n", e.what());
    return kExitBadSetting;
  }

  SelectorCache selectors(10'000);
  UuidGenerator uuids;
  Hub hub(*transport, selectors, uuids);
  SubscriptionRegistry subscriptions;
  // The transport may call its listeners from its own threads (the Redis reader runs from the
  // start): it is closed before what they point to is destroyed, on every way out.
  const CloseOnExit close_before_subscriptions{*transport};
  if (config.subscriptions) {
    if (History* history = transport->history()) {
      auto last = history->last_id();
      if (!last) {
        std::fprintf(stderr, "mercure-hub: cannot read the last event id: %s\n", last.error().reason.c_str());
        return kExitBadSetting;
      }
      if (*last) subscriptions.set_last_event_id(**last);
    }
    // The cluster's subscriptions as of the entry this hub reads after.
    if (auto* redis = dynamic_cast<RedisTransport*>(transport.get()))
      subscriptions.seed(redis->take_initial_subscriptions());
    transport->add_listener([&subscriptions](const Transport::UpdatePtr& u) { subscriptions.observe(*u); });
    hub.set_subscriptions(&subscriptions);
    spdlog::info("subscriptions: subscription events and the subscriptions API are on");
  }

  // Metrics: on the main listener, or only on their own listener when METRICS_ADDR is set.
  std::unique_ptr<PrometheusMetrics> metrics_page;
  std::unique_ptr<SideServer> metrics_server;
  if (sharded_metrics) {
    std::function<HistoryGauges()> history;
    auto* lmdb = dynamic_cast<LmdbTransport*>(transport.get());
    if (lmdb != nullptr) history = [lmdb] { return HistoryGauges{lmdb->stored_events(), lmdb->store().used_bytes()}; };
    // The batch histogram: LMDB transactions, or the Redis transport's pipelines.
    const bool batches = lmdb != nullptr || dynamic_cast<RedisTransport*>(transport.get()) != nullptr;
    std::function<std::int64_t()> certificate;
    if (options.tls) certificate = [tls = options.tls] { return tls->current()->not_after(); };
    metrics_page = std::make_unique<PrometheusMetrics>(*sharded_metrics, MERCURE_HUB_VERSION, std::move(history),
                                                       batches, std::move(certificate));
    if (!config.metrics_addr.empty()) {
      metrics_server = std::make_unique<SideServer>("metrics");
      try {
        const ListenAddress addr = parse_listen_address(config.metrics_addr);
        metrics_server->bind(addr.host, addr.port);
        metrics_server->start(metrics_side_handler(*metrics_page));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "mercure-hub: %s\n", e.what());
        return 1;
      }
      spdlog::info("metrics on {}/metrics", metrics_server->url());
    }
  }
  const bool metrics_on_hub_port = metrics_page && !metrics_server && !config.metrics_admin_only;
  Server server(options, hub, *authorizer, *transport, metrics, metrics_on_hub_port ? metrics_page.get() : nullptr);
  const CloseOnExit close_before_server{*transport};
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mercure-hub: %s\n", e.what());
    return 1;
  }
  // Every listener is in (the registry, every worker): the cluster's stream is read from the
  // entry the transport started at, so none of them misses an event after its start.
  if (auto* redis = dynamic_cast<RedisTransport*>(transport.get())) {
    // Taken for dead while it stalled, or Redis emptied: the cluster's list lost this hub's
    // subscriptions, announced again from every worker.
    if (config.subscriptions) {
      redis->set_forgotten_handler([&server] { server.announce_subscriptions_again(); });
      redis->set_rewound_handler(
          [&subscriptions](std::vector<Subscription> listed) { subscriptions.reset(std::move(listed)); });
    }
    redis->start_reading();
  }
  if (metrics_on_hub_port) spdlog::info("metrics on {}/metrics", server.url());
  for (auto& fetcher : key_set_fetchers) fetcher->start();
  // The HTTP port of a site served over HTTPS under its name: redirects, and HTTP-01 challenges.
  std::unique_ptr<SideServer> http_port = start_http_port(config, challenges);
  if (http_port && acme) acme->set_http_challenge(true);
  if (acme) acme->start();  // the listeners answer its challenges from now on
  // Caddy's admin endpoint, for the reference's probes, preStop hook and scrapes.
  std::atomic<bool> shutting_down{false};
  std::unique_ptr<SideServer> admin = start_admin_endpoint(
      config, AdminEndpoint{[&shutting_down, &transport] { return !shutting_down.load() && transport->writable(); },
                            metrics_page.get(),
                            [&shutting_down] {
                              spdlog::info("admin endpoint: POST /stop, shutting down as on SIGTERM");
                              shutting_down = true;
                              ::kill(::getpid(), SIGTERM);
                            },
                            {}});
  if (config.metrics_admin_only && !admin && !metrics_server) {
    spdlog::warn(
        "metrics: servers { metrics } serves them on the admin endpoint, which is off (set METRICS_ENABLED=1 "
        "to serve them on the hub's port, or METRICS_ADDR)");
  }
  const auto limit_text = [](std::size_t n) { return n == 0 ? std::string("no limit") : std::to_string(n); };
  spdlog::info("limits: connections {} ({}{} per address), streams per token {}", limit_text(options.max_connections),
               config.max_connections == 0 ? "from the open-file limit; " : "",
               limit_text(options.max_connections_per_ip), limit_text(options.max_streams_per_token));
  if (!options.path_prefix.empty()) {
    spdlog::info("hub on {}{}/.well-known/mercure (the Caddyfile's handle_path; /.well-known/mercure answers too)",
                 server.url(), options.path_prefix);
  }
  if (options.ui) {
    spdlog::info("debugging UI on {}{}/.well-known/mercure/ui/{}", server.url(), options.path_prefix,
                 options.demo ? " (demo endpoints on: development only)" : "");
  }

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (!options.tls) {
      spdlog::info("received SIGHUP: ignored (settings are read at start-up; restart the hub to change them)");
      continue;
    }
    // A renewed certificate: read the files again (other settings stay as they were).
    try {
      options.tls->reload();
      spdlog::info("received SIGHUP: TLS certificate and key read again from \"{}\"; new connections use them",
                   options.tls->cert_file());
      if (!acme) log_certificate(*options.tls->current(), "TLS");  // an ACME one is renewed by the hub
    } catch (const TlsSetupError& e) {
      if (acme && !options.tls->current()->has_certificate()) {
        spdlog::info("received SIGHUP: no certificate obtained yet (see the acme: lines)");
      } else {
        spdlog::error("received SIGHUP: TLS files not reloaded, the previous certificate stays in use: {}", e.what());
      }
    }
  }
  shutting_down = true;
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (const auto limit = drain_limit(config, dynamic_cast<RedisTransport*>(transport.get()) != nullptr)) {
    drain_streams(server, *limit, signals);
  }
  if (acme) acme->stop();
  if (http_port) http_port->stop();
  // The HTTP side first: publishes in flight are still stored and answered, and the streams'
  // ends still publish their disconnect events (which other hubs of a cluster need). Then the
  // transport stores what is queued and stops.
  server.stop();
  transport->close();
  if (metrics_server) metrics_server->stop();
  if (admin) admin->stop();
  for (auto& fetcher : key_set_fetchers) fetcher->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  return mercure::run_cli(argc, argv, mercure::environment_map(envp), run_hub);
}
