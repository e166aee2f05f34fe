#pragma once
// What the hub counts, as events reported by the code that sees them. The hub never reads
// metrics back; an exporter does (ShardedMetrics + src/app/prometheus_metrics).
//
// Contract for implementations: every call is on a hot path (fan-out, publish) and must take
// no lock and touch no atomic shared with another writer. Two kinds of callers:
//   - per-shard calls (`shard` argument): only shard `shard`'s thread reports for that shard,
//     so each shard can own its counters;
//   - transport calls (updates_committed, commit_batch): from the transport's one serialized
//     commit path (LmdbTransport's writer thread, LocalTransport under its mutex): one writer
//     at a time, with a happens-before edge between consecutive writers.
// NullMetrics is the implementation when metrics are off, and the default in tests.

#include "core/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mercure {

// Why a subscriber's stream ended (the label `reason` of mercure_subscriber_disconnects_total).
enum class DisconnectReason : std::uint8_t {
  client_gone,     // the peer closed or reset the connection, or a write failed
  slow,            // the outbox overflowed: the subscriber did not keep up
  write_timeout,   // one write exceeded dispatch_timeout
  token_expired,   // the token's exp was reached
  lifetime,        // the connection's jittered write_timeout was reached
  shutdown,        // the hub is stopping
  history_failed,  // reading the history for a resume failed
};
inline constexpr std::size_t kDisconnectReasons = 7;

// Where a delivered event came from (the label `source` of mercure_deliveries_total).
enum class DeliverySource : std::uint8_t { live, history };
inline constexpr std::size_t kDeliverySources = 2;

// Why a request was refused: a small fixed set of slugs (the label `reason` of
// mercure_requests_rejected_total), each with one status.
enum class RejectReason : std::uint8_t {
  missing_token,         // 401: no token where one is required
  invalid_token,         // 401: a token failed a check (the log line names the check)
  origin_not_allowed,    // 401: cookie-authenticated publish from an origin not allowed (CSRF)
  forbidden_topic,       // 403: a topic the publish claim does not grant, or a reserved one
  bad_form,              // 400: the publish form is invalid
  bad_request,           // 400: any other malformed request
  not_found,             // 404
  method_not_allowed,    // 405
  request_timeout,       // 408: a request head or body not received in time
  conflict,              // 409: an event with this id is already stored
  expectation_failed,    // 417: an Expect other than 100-continue
  payload_too_large,     // 413: a body, a topic or a number of topics over its limit
  too_many_requests,     // 429: (reserved; the limits use the two reasons below)
  too_many_connections,  // 429: the hub's or the client address's connection limit
  too_many_streams,      // 429: the token's limit of concurrent event streams
  headers_too_large,     // 431
  unavailable,           // 503: shutting down, or the transport refused the update
  internal,              // 500
};
inline constexpr std::size_t kRejectReasons = 18;

[[nodiscard]] std::string_view disconnect_reason_name(DisconnectReason r) noexcept;
[[nodiscard]] std::string_view delivery_source_name(DeliverySource s) noexcept;
[[nodiscard]] std::string_view reject_reason_name(RejectReason r) noexcept;
[[nodiscard]] int reject_reason_status(RejectReason r) noexcept;
// The reason for an error answered to a client: by its code, and for 401s by its `check`
// ("missing" -> missing_token, "origin" -> origin_not_allowed, anything else -> invalid_token).
[[nodiscard]] RejectReason reject_reason_of(const Error& e) noexcept;

class Metrics {
 public:
  virtual ~Metrics() = default;

  // Shard `shard`'s thread only.
  virtual void connection_opened(unsigned shard) = 0;
  virtual void connection_closed(unsigned shard) = 0;
  virtual void subscriber_connected(unsigned shard) = 0;
  virtual void subscriber_disconnected(unsigned shard, DisconnectReason why) = 0;
  // `events` events were written to a subscriber.
  virtual void delivered(unsigned shard, DeliverySource source, std::size_t events) = 0;
  virtual void request_rejected(unsigned shard, RejectReason why) = 0;
  // A publish answered 200: from the request parsed to the response written.
  virtual void publish_completed(unsigned shard, std::chrono::nanoseconds duration) = 0;

  // The transport's serialized commit path only (see above).
  // `updates` updates were accepted (stored when the transport keeps history) and broadcast.
  virtual void updates_committed(std::size_t updates) = 0;
  // One history transaction took `updates` queued updates (group commit).
  virtual void commit_batch(std::size_t updates) = 0;
};

class NullMetrics final : public Metrics {
 public:
  void connection_opened(unsigned) override {}
  void connection_closed(unsigned) override {}
  void subscriber_connected(unsigned) override {}
  void subscriber_disconnected(unsigned, DisconnectReason) override {}
  void delivered(unsigned, DeliverySource, std::size_t) override {}
  void request_rejected(unsigned, RejectReason) override {}
  void publish_completed(unsigned, std::chrono::nanoseconds) override {}
  void updates_committed(std::size_t) override {}
  void commit_batch(std::size_t) override {}
};

}  // namespace mercure
