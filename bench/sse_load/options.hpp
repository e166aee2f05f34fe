#pragma once
// The command line of bench_sse_load (the options are described in bench/sse_load.cpp).

#include <cstddef>
#include <string>
#include <vector>

namespace bench::sse_load {

struct Options {
  bool nchan = false;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;
  std::string sub_token;
  std::string topic_prefix = "https://example.com/bench/";
  std::string selector_prefix;  // replaces topic_prefix in subscribers' selectors when set
  std::string selector_suffix;  // appended to each subscriber's selector (a template part)
  std::string topic_suffix;     // appended to each published topic (an expansion of it)
  std::string extra_selector;   // one more selector every subscriber sends
  std::string channel_prefix = "b";
  std::string sub_path = "/sub/";
  std::string pub_path = "/pub/";
  int subscribers = 100;
  int topics = 1;
  int publishers = 1;
  bool publishers_apart = false;
  double idle = 0;  // seconds every subscriber stays connected and idle before publishing starts
  double rate = 100;
  long long messages = 0;
  bool random_pick = false;
  double warmup = 1;
  double duration = 10;
  double drain = 5;
  double connect_timeout = 120;
  std::size_t data_bytes = 100;
  int procs = 0;
  int src_addrs = 0;
  int connect_concurrency = 512;
  std::vector<int> server_pids;
  std::string label;
  bool json = false;
};

/** The options of the command line; exits with status 2 (bench::die) on a bad one. */
Options parse(int argc, char** argv);

}  // namespace bench::sse_load
