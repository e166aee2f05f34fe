#pragma once
// Options of the Redis transport and the parsing of its URL.
//
// Accepted URL (the config file form `transport redis { url redis://h:p/0; stream S; size N }`
// reaches here as `redis://h:p/0?stream=S&size=N`, built by src/app):
//   redis://[[username]:password@]host[:port][/db][?parameters]
//   rediss://...   the same over TLS (the server's certificate verified against the system's
//                  trusted CAs, or tls_ca_file, for the host name or address, or tls_server_name)
// host: a name, an IPv4 address or a bracketed IPv6 address; port: 6379 by default; db: the
// database number (SELECT), 0 by default. Username and password are percent-decoded (AUTH).
// Query parameters (percent-decoded, each at most once, never empty):
//   stream=NAME       the Redis stream holding the history; the id index is NAME:ids. Default
//                     "mercure". Hubs sharing a stream (and a Redis) form one cluster.
//   size=N            events kept in the stream (0 = unbounded); default 100000
//   max_batch=N       1..100000 publishes sent in one pipelined round trip; default 1024
//   node_timeout=N    2..3600 seconds: a hub that has not shown signs of life for this long is
//                     taken for dead, and its subscriptions for ended; default 15
//   tls_ca_file=PATH          rediss:// only: PEM file of the CAs to trust instead of the system's
//   tls_cert_file=PATH, tls_key_file=PATH
//                             rediss:// only, both or neither: the client certificate (PEM) and
//                             its key, for a Redis that asks for one (tls-auth-clients)
//   tls_server_name=NAME      rediss:// only: the name the certificate must hold (and SNI)
//   tls_insecure_skip_verify=true
//                             rediss:// only: no certificate check at all (warned at start-up)
// Files are read when connecting (an unreadable one fails the connection, naming it). Anything
// else (unknown parameter, bad value, fragment) is Errc::bad_request with one line naming the
// culprit.
// Pure function; safe to call from any thread.

#include "core/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  unsigned db = 0;
  std::string username;  // empty: AUTH with the password alone (Redis < 6 style)
  std::string password;  // empty, and no username: no AUTH
  std::string stream = "mercure";
  std::uint64_t size = 100'000;
  std::size_t max_batch = 1024;
  std::chrono::seconds node_timeout{15};
  // rediss://: TLS 1.2 or later to Redis.
  struct Tls {
    std::string ca_file;    // empty: the system's trusted CAs
    std::string cert_file;  // with key_file: a client certificate
    std::string key_file;
    std::string server_name;  // empty: the host
    bool insecure_skip_verify = false;
  };
  std::optional<Tls> tls;

  // host:port/db, for logs (never the password); "(TLS)" after it for rediss://.
  [[nodiscard]] std::string describe() const;
  // The id index key: "<stream>:ids".
  [[nodiscard]] std::string index_key() const { return stream + ":ids"; }
  // The active subscriptions of the cluster (a hash: subscription id -> encoded subscription),
  // the hubs (a sorted set: node -> when it is taken for dead, in ms) and, per hub, the ids of
  // the subscriptions it announced (a set): "<stream>:subscriptions", "<stream>:nodes",
  // "<stream>:node:<node>".
  [[nodiscard]] std::string subscriptions_key() const { return stream + ":subscriptions"; }
  [[nodiscard]] std::string nodes_key() const { return stream + ":nodes"; }
  [[nodiscard]] std::string node_key_prefix() const { return stream + ":node:"; }
  // The end events prepared for the active subscriptions, and the claim hold (see
  // transport/redis_script.hpp): "<stream>:subscription_ends", "<stream>:claim_hold".
  [[nodiscard]] std::string subscription_ends_key() const { return stream + ":subscription_ends"; }
  [[nodiscard]] std::string claim_hold_key() const { return stream + ":claim_hold"; }
};

[[nodiscard]] Result<RedisOptions> parse_redis_url(std::string_view url);

}  // namespace mercure
