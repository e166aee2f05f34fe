#include "http/server.hpp"

#include "core/transport.hpp"
#include "http/listen_host.hpp"
#include "http/replay_reader.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <stdexcept>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Threads making the reads of a history that blocks (a Redis round trip each): the resumes
// served at once (Redis's history keeps this many connections idle).
constexpr std::size_t kHistoryReaders = 8;
}  // namespace

Server::Server(ServerOptions options, Hub& hub, const Authorizer& authorizer, Transport& transport, Metrics& metrics,
               const MetricsSource* metrics_page)
    : options_(std::move(options)),
      hub_(hub),
      authorizer_(authorizer),
      transport_(transport),
      metrics_(metrics),
      metrics_page_(metrics_page),
      admission_(options_.max_connections, options_.max_connections_per_ip, options_.max_streams_per_token) {}

Server::~Server() {
  stop();
}

void Server::start() {
  const unsigned workers = options_.workers == 0 ? 1 : options_.workers;
  if (History* history = transport_.history(); history != nullptr && history->reads_block()) {
    history_readers_ = std::make_unique<HistoryReaders>(kHistoryReaders);
  }
  tcp::endpoint endpoint(resolve_listen_host(options_.host), options_.port);
  for (unsigned i = 0; i < workers; ++i) {
    auto shard = std::make_unique<Shard>(i, options_, hub_, authorizer_, metrics_, metrics_page_, admission_);
    try {
      try {
        shard->listen(endpoint);
      } catch (const boost::system::system_error&) {
        if (!options_.host.empty() || i != 0) throw;
        // No IPv6 on this machine: all interfaces means all IPv4 interfaces.
        shard = std::make_unique<Shard>(i, options_, hub_, authorizer_, metrics_, metrics_page_, admission_);
        endpoint.address(asio::ip::address_v4::any());
        shard->listen(endpoint);
      }
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + e.code().message());
    }
    if (i == 0) {
      port_ = shard->local_endpoint().port();
      endpoint.port(port_);  // port 0: every worker shares the port the first one got
    }
    shard->set_history_readers(history_readers_.get());
    shard->dispatch_progress().set_base(transport_.broadcast_from());
    Shard* raw = shard.get();
    transport_.add_listener([raw](const Transport::UpdatePtr& u) { raw->deliver(u); });
    shards_.push_back(std::move(shard));
  }
  std::vector<Shard*> peers;
  for (auto& s : shards_) peers.push_back(s.get());
  for (auto& s : shards_) s->set_peers(peers);
  for (auto& s : shards_) s->start();
  spdlog::info("listening on {} ({} workers)", url(), shards_.size());
}

std::string Server::url() const {
  std::string host = options_.host.empty() ? "0.0.0.0" : options_.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return (options_.tls ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

void Server::announce_subscriptions_again() {
  for (auto& s : shards_) s->announce_subscriptions_again();
}

void Server::begin_drain() {
  for (auto& s : shards_) s->begin_drain();
}

std::size_t Server::open_streams() const {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->open_streams();
  return n;
}

void Server::stop() {
  if (stopped_ || shards_.empty()) return;
  stopped_ = true;
  if (history_readers_) history_readers_->stop();  // reads not begun give up: streams are ending
  for (auto& s : shards_) s->request_stop();
  const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
  for (auto& s : shards_) {
    if (!s->wait_finished(deadline)) {
      spdlog::warn("worker {} did not drain within the shutdown grace period; forcing it", s->id());
      s->force_stop();
    }
    s->join();
  }
  if (history_readers_) history_readers_->join();  // reads under way end within Redis's timeout
}

}  // namespace mercure
