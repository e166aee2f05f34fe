#include "options.hpp"

#include <stdexcept>
#include <string_view>

#include "../http_client.hpp"

namespace bench::sse_load {

Options parse(int argc, char** argv) {
  Options o;
  for (ArgReader args(argc, argv); args.next();) {
    const std::string_view a = args.name();
    auto value = [&] { return args.value(); };
    try {
      if (a == "--target") {
        auto t = value();
        if (t != "mercure" && t != "nchan") die("--target is mercure or nchan");
        o.nchan = t == "nchan";
      } else if (a == "--host") {
        o.host = value();
      } else if (a == "--port") {
        o.port = std::stoi(value());
      } else if (a == "--token") {
        o.token = value();
      } else if (a == "--sub-token") {
        o.sub_token = value();
      } else if (a == "--topic-prefix") {
        o.topic_prefix = value();
      } else if (a == "--selector-prefix") {
        o.selector_prefix = value();
      } else if (a == "--selector-suffix") {
        o.selector_suffix = value();
      } else if (a == "--topic-suffix") {
        o.topic_suffix = value();
      } else if (a == "--extra-selector") {
        o.extra_selector = value();
      } else if (a == "--channel-prefix") {
        o.channel_prefix = value();
      } else if (a == "--sub-path") {
        o.sub_path = value();
      } else if (a == "--pub-path") {
        o.pub_path = value();
      } else if (a == "--subscribers") {
        o.subscribers = std::stoi(value());
      } else if (a == "--topics") {
        o.topics = std::stoi(value());
      } else if (a == "--publishers") {
        o.publishers = std::stoi(value());
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--messages") {
        o.messages = std::stoll(value());
      } else if (a == "--pick") {
        auto p = value();
        if (p != "random" && p != "round-robin") die("--pick is random or round-robin");
        o.random_pick = p == "random";
      } else if (a == "--warmup") {
        o.warmup = std::stod(value());
      } else if (a == "--duration") {
        o.duration = std::stod(value());
      } else if (a == "--drain") {
        o.drain = std::stod(value());
      } else if (a == "--connect-timeout") {
        o.connect_timeout = std::stod(value());
      } else if (a == "--data-bytes") {
        o.data_bytes = std::stoul(value());
      } else if (a == "--procs") {
        o.procs = std::stoi(value());
      } else if (a == "--src-addrs") {
        o.src_addrs = std::stoi(value());
      } else if (a == "--connect-concurrency") {
        o.connect_concurrency = std::stoi(value());
      } else if (a == "--server-pid") {
        o.server_pids.push_back(std::stoi(value()));
      } else if (a == "--label") {
        o.label = value();
      } else if (a == "--idle") {
        o.idle = std::stod(value());
      } else if (a == "--publishers-apart") {
        o.publishers_apart = true;
      } else if (a == "--json") {
        o.json = true;
      } else {
        die("unknown option " + std::string(a));
      }
    } catch (const std::logic_error&) {
      die("bad value for " + std::string(a));
    }
  }
  if (o.port <= 0) die("--port is required");
  if (!o.nchan && o.token.empty() && o.publishers > 0) die("--token (a publisher JWT) is required for mercure");
  if (o.subscribers < 0 || o.topics <= 0 || o.publishers < 0 || o.rate < 0 || o.messages < 0)
    die("counts and rates must not be negative");
  if (o.publishers == 0 && o.subscribers == 0) die("nothing to do");
  if (o.connect_concurrency <= 0) o.connect_concurrency = 1;
  if (o.src_addrs < 0 || o.src_addrs > 250) die("--src-addrs is 0 (auto) to 250");
  if (o.data_bytes > 1 << 20) die("--data-bytes is at most 1 MiB");
  if (o.messages > 0) o.warmup = 0;
  return o;
}

}  // namespace bench::sse_load
