#pragma once
// What the HTTP layer needs to know, mapped from the application's Config by main.cpp so
// that src/http never depends on how settings are read.

#include "core/subscriber.hpp"
#include "core/topic_limits.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercure {

class TlsCertificates;

struct ServerOptions {
  std::string host;  // empty = all interfaces
  std::uint16_t port = 3000;
  unsigned workers = 1;
  // Set: the listener serves HTTPS only (CERT_FILE/KEY_FILE): HTTP/1.1, and HTTP/2 when `h2`.
  std::shared_ptr<TlsCertificates> tls;
  bool h2 = true;    // HTTP/2 over TLS (ALPN "h2"); the TLS context is built with it
  bool h2c = false;  // a plain listener also takes HTTP/2 with prior knowledge

  bool anonymous = false;
  std::vector<std::string> cors_origins;     // "*" allows any origin
  std::vector<std::string> publish_origins;  // CSRF allowlist for cookie-authenticated POST
  std::string cookie_name = "mercureAuthorization";

  std::chrono::milliseconds heartbeat{40'000};        // 0 = no heartbeats
  std::chrono::milliseconds write_timeout{600'000};   // max stream life, jittered 80-100%; 0 = none
  std::chrono::milliseconds dispatch_timeout{5'000};  // max time of one write; 0 = none
  // Reading a request: a new connection's first request head must arrive within
  // read_header_timeout of the accept; on a kept-alive connection the next request must start
  // within idle_timeout, then its head must arrive within read_header_timeout of its first byte.
  // read_timeout bounds the whole request (head and body) from the same start. 0 = none, for each.
  std::chrono::milliseconds read_timeout{5'000};
  std::chrono::milliseconds read_header_timeout{5'000};
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds shutdown_grace{5'000};  // bound on graceful stop

  std::size_t max_body_bytes = 1024 * 1024;  // over: 413
  std::size_t max_header_bytes = 16 * 1024;  // request line and headers, at most 64 KiB; over: 431
  TopicLimits topic_limits;                  // topics per publish, selectors per subscription, length
  // Concurrency, counted across every shard (core/admission.hpp); 0 = no limit. Over: 429.
  std::size_t max_connections = 0;         // open connections, event streams included
  std::size_t max_connections_per_ip = 0;  // per client IPv4 address or IPv6 /64
  std::size_t max_streams_per_token = 0;   // event streams opened with the same token
  OutboxLimits outbox;
  // Event streams' sends of one turn made in one system call (http/send_ring.hpp) when the
  // kernel offers io_uring; off = one sendmsg per stream.
  bool io_uring = true;

  // Optional features (issue 4). Each is off unless configured.
  bool subscriptions = false;  // subscription events and the subscriptions API
  bool ui = false;             // the debugging UI under /.well-known/mercure/ui/
  bool demo = false;           // the UI plus the demo endpoints under /.well-known/mercure/ui/demo/
  // A Caddyfile's handle_path / uri strip_prefix prefixes ({"/hub"}): each is removed from a
  // request's path, in order, when the path starts with it (/hub/.well-known/mercure is served as
  // /.well-known/mercure, which is served too). `path_prefix`: all of them, for links.
  std::vector<std::string> path_prefixes;
  std::string path_prefix;
};

}  // namespace mercure
