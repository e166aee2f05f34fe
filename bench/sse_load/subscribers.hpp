#pragma once
// The subscribers of one process: non-blocking EventSource clients in the process's epoll set.
// Subscriber i listens to topic i % topics: for mercure GET /.well-known/mercure?topic=...,
// for nchan GET <sub-path><channel-prefix><t>, both with `Accept: text/event-stream`; the
// response head, the chunked framing (if any) and the SSE lines are parsed incrementally in a
// 64-byte line buffer per connection, and each `data:` line goes to EventChecks.

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "event_checks.hpp"
#include "options.hpp"
#include "shared.hpp"

namespace bench::sse_load {

enum SubState : std::uint8_t { kIdle, kTcpConnecting, kRequesting, kHead, kStreaming, kClosed };
enum ChunkState : std::uint8_t { kChunkSize, kChunkExt, kChunkData, kChunkDataEnd };

struct Sub {
  int fd = -1;
  std::uint32_t topic = 0;
  std::uint32_t chunk_left = 0;
  std::uint16_t sent = 0;  // request bytes written
  SubState state = kIdle;
  ChunkState chunk_state = kChunkSize;
  std::uint8_t line_len = 0;
  std::uint8_t attempts = 0;
  bool chunked = false;
  bool status_seen = false;
  char line[64];
  std::unique_ptr<std::vector<Gap>> gaps;  // allocated only when an update is skipped
};

class Subscribers {
 public:
  /** Subscribers [first_sub, last_sub) of the whole run, from `src_count` source addresses. */
  Subscribers(const Options& o, Shared shared, ProcResult& res, Window& window, int ep, const sockaddr_in& dst,
              int first_sub, int last_sub, int src_count);

  /** Starts connecting those not connected yet, up to --connect-concurrency at a time. */
  void start_connects();
  /** Every subscriber streams, or failed for good. */
  bool connects_done() const { return connecting_ == 0 && pending_.empty(); }
  std::size_t still_connecting() const { return connecting_ + pending_.size(); }

  /** epoll events of subscriber `kk`. */
  void on_sub(std::size_t kk, std::uint32_t events);

  /** Updates published to these subscribers' topics and not received yet. */
  std::int64_t outstanding() const { return checks_.outstanding(subs_); }
  /** The results are being written: a stream ending now is no disconnect; expected and missing counts. */
  void finish();

 private:
  std::string source_for(int global) const;
  void sub_connect_failed(std::uint32_t k, const std::string& why);
  std::string sub_request(std::uint32_t k) const;
  void close_sub(std::uint32_t k, bool count);
  void feed(std::uint32_t k, const char* p, std::size_t n, std::int64_t now);
  void protocol_error(std::uint32_t k);
  void sse_bytes(std::uint32_t k, const char* p, std::size_t n, std::int64_t now);

  const Options& o_;
  ProcResult* res_;
  EventChecks checks_;
  int ep_;
  sockaddr_in dst_;
  int first_, src_count_;
  std::vector<Sub> subs_;
  std::vector<std::uint32_t> pending_;  // subscribers not connected yet
  std::size_t connecting_ = 0;          // TCP connect, request or response head in progress
  bool finished_ = false;
  char buf_[65536];
};

}  // namespace bench::sse_load
