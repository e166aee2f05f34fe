#include "report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>

namespace bench::sse_load {

ProcResult merge_results(const ProcResult* results, int procs) {
  ProcResult total;
  for (int i = 0; i < procs; ++i) {
    const ProcResult& r = results[i];
    total.subscribers += r.subscribers;
    total.connected += r.connected;
    total.connect_failures += r.connect_failures;
    total.bad_status += r.bad_status;
    total.disconnects += r.disconnects;
    total.protocol_errors += r.protocol_errors;
    total.delivered += r.delivered;
    total.delivered_window += r.delivered_window;
    total.duplicated += r.duplicated;
    total.reordered += r.reordered;
    total.missing += r.missing;
    total.wrong_topic += r.wrong_topic;
    total.bad_payload += r.bad_payload;
    total.comments += r.comments;
    total.expected += r.expected;
    total.last_recv_ns = std::max(total.last_recv_ns, r.last_recv_ns);
    total.max_latency_ns = std::max(total.max_latency_ns, r.max_latency_ns);
    total.cpu_window_ns += r.cpu_window_ns;
    if (r.first_bad_status != 0 && total.first_bad_status == 0) total.first_bad_status = r.first_bad_status;
    total.e2e.merge(r.e2e);
  }
  return total;
}

void print_report(const Options& o, const PublishFigures& pub, const ProcResult& r, const ServerSamples& sv, int procs,
                  int src_count, double window_s, double connect_s, int exit_code) {
  const double us = 1e-3;
  const double delivered_per_s = window_s > 0 ? static_cast<double>(r.delivered_window) / window_s : 0;
  const double server_cpu_us = static_cast<double>(sv.cpu_end - sv.cpu_from) * us;
  const double cpu_per_delivery = r.delivered_window > 0 ? server_cpu_us / static_cast<double>(r.delivered_window) : 0;
  const double server_cpu_pct = window_s > 0 ? server_cpu_us / (window_s * 1e6) * 100 : 0;
  const double rss_per_sub =
      r.connected > 0 ? static_cast<double>(sv.rss_connected - sv.rss_base) * 1024 / static_cast<double>(r.connected)
                      : 0;
  const auto mt_total = sv.machine_end.total - sv.machine_from.total;
  const double busy = mt_total > 0 ? 100.0 * static_cast<double>(sv.machine_end.busy - sv.machine_from.busy) /
                                         static_cast<double>(mt_total)
                                   : 0;
  const double gen_cpu_pct = window_s > 0 ? static_cast<double>(r.cpu_window_ns) / (window_s * 1e9) * 100 : 0;
  const double e50 = r.e2e.percentile(0.5) * us, e90 = r.e2e.percentile(0.9) * us, e99 = r.e2e.percentile(0.99) * us,
               emax = static_cast<double>(r.max_latency_ns) * us;
  const double p50 = pub.post_latency.percentile(0.5) * us, p99 = pub.post_latency.percentile(0.99) * us;
  const char* target = o.nchan ? "nchan" : "mercure";
  if (o.json) {
    std::printf("{\"label\":\"%s\",\"target\":\"%s\",\"subscribers\":%d,\"connected\":%" PRId64
                ",\"topics\":%d,\"publishers\":%d,\"rate\":%.0f,\"messages\":%lld,\"procs\":%d,\"src_addrs\":%d,"
                "\"connect_s\":%.3f,\"window_s\":%.3f,\"published\":%" PRId64 ",\"published_window\":%" PRId64
                ",\"post_ok\":%" PRId64 ",\"post_errors\":%" PRId64
                ",\"publishes_per_s\":%.0f,\"late_publishes\":%" PRId64
                ",\"max_publish_lag_us\":%.0f,\"expected\":%" PRId64 ",\"delivered\":%" PRId64
                ",\"delivered_window\":%" PRId64 ",\"delivered_per_s\":%.0f,\"missing\":%" PRId64
                ",\"duplicated\":%" PRId64 ",\"reordered\":%" PRId64 ",\"wrong_topic\":%" PRId64
                ",\"bad_payload\":%" PRId64 ",\"disconnects\":%" PRId64 ",\"connect_failures\":%" PRId64
                ",\"bad_status\":%" PRId64 ",\"protocol_errors\":%" PRId64 ",\"comments\":%" PRId64
                ",\"e2e_p50_us\":%.0f,\"e2e_p90_us\":%.0f,\"e2e_p99_us\":%.0f,\"e2e_max_us\":%.0f,"
                "\"post_p50_us\":%.0f,\"post_p99_us\":%.0f,\"server_cpu_us\":%.0f,\"server_cpu_us_per_delivery\":%.3f,"
                "\"server_cpu_pct\":%.1f,\"rss_base_kib\":%" PRId64 ",\"rss_connected_kib\":%" PRId64
                ",\"rss_end_kib\":%" PRId64
                ",\"rss_per_sub_bytes\":%.0f,\"machine_busy_pct\":%.1f,\"generator_cpu_pct\":%.1f,\"ok\":%s}\n",
                o.label.c_str(), target, o.subscribers, r.connected, o.topics, o.publishers, o.rate, o.messages, procs,
                src_count, connect_s, window_s, pub.published_total, pub.published_window, pub.post_ok, pub.post_errors,
                window_s > 0 ? static_cast<double>(pub.published_window) / window_s : 0, pub.late,
                static_cast<double>(pub.max_lag_ns) * us, r.expected, r.delivered, r.delivered_window, delivered_per_s,
                r.missing, r.duplicated, r.reordered, r.wrong_topic, r.bad_payload, r.disconnects, r.connect_failures,
                r.bad_status, r.protocol_errors, r.comments, e50, e90, e99, emax, p50, p99, server_cpu_us,
                cpu_per_delivery, server_cpu_pct, sv.rss_base, sv.rss_connected, sv.rss_end, rss_per_sub, busy,
                gen_cpu_pct, exit_code == 0 ? "true" : "false");
    return;
  }
  std::printf("%s%s%s: %" PRId64 "/%d subscribers connected in %.2f s (%d processes, %d source addresses), %d topics\n",
              target, o.label.empty() ? "" : " ", o.label.c_str(), r.connected, o.subscribers, connect_s, procs,
              src_count, o.topics);
  std::printf("  publishers %d, %s; window %.2f s: published %" PRId64 " (%.0f/s), POST p50 %.0f us p99 %.0f us",
              o.publishers,
              o.messages > 0 ? (std::to_string(o.messages) + " updates in all").c_str()
              : o.rate > 0   ? ("open loop " + std::to_string(static_cast<long long>(o.rate)) + "/s").c_str()
                             : "closed loop",
              window_s, pub.published_window, window_s > 0 ? static_cast<double>(pub.published_window) / window_s : 0,
              p50, p99);
  if (o.rate > 0 && o.messages == 0)
    std::printf(", late %" PRId64 " (max lag %.0f us)", pub.late, static_cast<double>(pub.max_lag_ns) * us);
  std::printf("\n  delivered %" PRId64 " of %" PRId64 " expected; %.0f/s in the window; missing %" PRId64
              ", duplicated %" PRId64 ", reordered %" PRId64 ", wrong topic %" PRId64 ", disconnects %" PRId64
              ", POST errors %" PRId64 "\n",
              r.delivered, r.expected, delivered_per_s, r.missing, r.duplicated, r.reordered, r.wrong_topic,
              r.disconnects, pub.post_errors);
  std::printf("  end-to-end latency: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", e50, e90, e99, emax);
  std::printf("  comment lines received (first flushes and heartbeats): %" PRId64 "\n", r.comments);
  if (!o.server_pids.empty()) {
    std::printf("  server: %.2f us CPU per delivery (%.1f%% of a core); RSS %" PRId64 " KiB -> %" PRId64
                " KiB connected (%.0f bytes per subscriber) -> %" PRId64 " KiB at the end\n",
                cpu_per_delivery, server_cpu_pct, sv.rss_base, sv.rss_connected, rss_per_sub, sv.rss_end);
  }
  std::printf("  machine busy %.1f%%, generator %.1f%% of a core; %s\n", busy, gen_cpu_pct,
              exit_code == 0 ? "OK" : "FAILED");
}

}  // namespace bench::sse_load
