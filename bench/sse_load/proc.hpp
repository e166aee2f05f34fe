#pragma once
// One process: its share of the subscribers and, in process 0, the publishers, in one epoll
// loop. Process 0 also leads: it starts publishing once every process's subscribers stream
// (after --idle), ends the window, and lets everyone drain; each process writes its results
// into the shared mapping.

#include <netinet/in.h>
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "options.hpp"
#include "publishers.hpp"
#include "shared.hpp"
#include "subscribers.hpp"

namespace bench::sse_load {

class Proc {
 public:
  /** Process `index` of `procs`, with subscribers [first_sub, last_sub) from `src_count` source addresses. */
  Proc(const Options& o, Shared shared, int index, int procs, int first_sub, int last_sub, int src_count);

  /** Runs until the results are written (and, in process 0, until every process finished). */
  void run();

  // Process 0 calls these when every subscriber streams and at the window's edges (false: its
  // start, true: its end), to sample the server.
  std::function<void()> on_all_connected = [] {};
  std::function<void(bool)> on_window_edge = [](bool) {};

  /** Publisher-side figures (process 0 only). */
  const PublishFigures& published() const { return pubs_.figures(); }

 private:
  // --- the lead process: start signal, publishing, drain signal -------------------------------

  /** Returns false when the run is aborted. */
  bool lead(std::int64_t now, int phase);

  void sample_self(std::int64_t now);
  void finish(std::int64_t now);
  int wait(std::vector<epoll_event>& events, std::int64_t now);

  const Options& o_;
  Shared sh_;
  Control& ctl_;
  ProcResult* res_ = nullptr;
  int index_, procs_;
  int ep_ = -1;
  sockaddr_in dst_{};
  Window window_;
  Subscribers subs_;
  Publishers pubs_;
  std::int64_t idle_until_ = 0;
  bool ready_reported_ = false, sampled_from_ = false, sampled_end_ = false, finished_ = false;
  std::int64_t self_from_ = 0;
};

}  // namespace bench::sse_load
