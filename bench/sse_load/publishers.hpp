#pragma once
// The publishers (process 0 only): keep-alive connections with at most one POST in flight each
// (mercure: form topic/data with a Bearer token; nchan: POST <pub-path><channel-prefix><t> with
// the data as body). --rate R > 0 publishes R updates/s in total (open loop; an update waits
// for a free publisher connection, lateness is counted); --rate 0 keeps every publisher busy
// (closed loop); --messages N publishes exactly N updates as fast as allowed.

#include <netinet/in.h>
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../http_client.hpp"
#include "options.hpp"
#include "shared.hpp"

namespace bench::sse_load {

extern volatile sig_atomic_t stop_requested;  // SIGTERM or SIGINT: stop publishing, drain, report

constexpr std::uint64_t kPubTag = std::uint64_t{1} << 32;  // epoll data of publisher p: kPubTag | p

struct Pub {
  int fd = -1;
  std::string out;
  std::size_t written = 0;
  std::string in;
  std::int64_t sent_ns = 0;
  bool busy = false;
};

/** Publisher-side figures. */
struct PublishFigures {
  std::int64_t published_total = 0, published_window = 0, post_ok = 0, post_errors = 0, late = 0, max_lag_ns = 0;
  bench::Histogram post_latency;
};

class Publishers {
 public:
  /** Publishers only in the lead process (`lead`); an empty set in the others. */
  Publishers(const Options& o, Shared shared, ProcResult& res, const Window& window, int ep, const sockaddr_in& dst,
             bool lead);

  /** Connects every publisher (when publishing starts: idle connections may time out). */
  void connect_all();
  /** Publishing starts at `start_ns` (the first open-loop update is due then). */
  void start(std::int64_t start_ns);
  /** Publishes what is due; true on the turn publishing stops (end of the window, --messages sent, a signal). */
  bool turn(std::int64_t now);
  /** Once publishing stopped: true when no POST is in flight (those unanswered after --drain are errors). */
  bool drained(std::int64_t now);
  /** When the next open-loop update is due, if a publisher is free to send it (LLONG_MAX otherwise). */
  std::int64_t next_due() const;

  /** epoll events of publisher `p`. */
  void on_pub(std::size_t p, std::uint32_t events);

  const PublishFigures& figures() const { return fig_; }

 private:
  std::uint32_t pick_topic();
  void publish_due(std::int64_t now);
  void send_update(std::size_t p, std::uint32_t t);
  void connect_pub(std::size_t p);
  void flush_pub(std::size_t p);
  void pub_failed(std::size_t p, const std::string& why);

  const Options& o_;
  Shared sh_;
  Control& ctl_;
  ProcResult* res_;
  const Window& window_;
  int ep_;
  sockaddr_in dst_;
  std::vector<Pub> pubs_;
  std::vector<std::size_t> free_pubs_;
  std::int64_t in_flight_ = 0, next_due_ = 0, stopped_at_ = 0;
  std::uint64_t rr_ = 0, rng_ = 0x9E3779B97F4A7C15ull;
  bool stop_publishing_ = false;
  PublishFigures fig_;
  char buf_[65536];
};

}  // namespace bench::sse_load
