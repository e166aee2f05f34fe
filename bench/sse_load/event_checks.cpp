#include "event_checks.hpp"

#include <algorithm>
#include <atomic>
#include <memory>

#include "subscribers.hpp"

namespace bench::sse_load {

EventChecks::EventChecks(const Options& o, Shared shared, ProcResult& res, Window& window, std::size_t subs)
    : o_(o), sh_(shared), ctl_(*shared.control), res_(&res), window_(window) {
  pubs_per_ = static_cast<std::size_t>(std::max(o_.publishers, 1));
  next_.assign(subs * pubs_per_, 0);
}

bool EventChecks::parse_u64(std::string_view& v, std::uint64_t& out) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  std::size_t i = 0;
  out = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9' && i < 19)
    out = out * 10 + static_cast<std::uint64_t>(v[i++] - '0');
  if (i == 0) return false;
  v.remove_prefix(i);
  return true;
}

void EventChecks::on_data(Sub& s, std::uint32_t k, std::string_view v, std::int64_t now) {
  if (!window_.known) window_.learn(ctl_);
  std::uint64_t p = 0, t = 0, q = 0, ts = 0;
  if (!parse_u64(v, p) || !parse_u64(v, t) || !parse_u64(v, q) || !parse_u64(v, ts) || p >= pubs_per_ ||
      q > UINT32_MAX) {
    ++res_->bad_payload;
    return;
  }
  if (t != s.topic) {
    ++res_->wrong_topic;
    return;
  }
  std::uint32_t& next = next_[k * pubs_per_ + p];
  const auto seq = static_cast<std::uint32_t>(q);
  if (seq < next) {
    if (!fill_gap(s, static_cast<std::uint32_t>(p), seq)) {
      ++res_->duplicated;
      return;
    }
    ++res_->reordered;
  } else {
    if (seq > next) {
      if (!s.gaps) s.gaps = std::make_unique<std::vector<Gap>>();
      if (s.gaps->size() < kMaxGaps)
        s.gaps->push_back(Gap{static_cast<std::uint32_t>(p), next, seq});
      else
        res_->missing += seq - next;  // too many holes to track: counted as missing now
    }
    next = seq + 1;
  }
  ++res_->delivered;
  res_->last_recv_ns = now;
  const auto sent = static_cast<std::int64_t>(ts);
  if (now >= window_.measure_from && now < window_.end) ++res_->delivered_window;
  if (sent >= window_.measure_from && sent < window_.end) {
    res_->e2e.add(now - sent);
    res_->max_latency_ns = std::max(res_->max_latency_ns, now - sent);
  }
}

bool EventChecks::fill_gap(Sub& s, std::uint32_t p, std::uint32_t q) {
  if (!s.gaps) return false;
  auto& gaps = *s.gaps;
  for (std::size_t g = 0; g < gaps.size(); ++g) {
    Gap gap = gaps[g];
    if (gap.publisher != p || q < gap.lo || q >= gap.hi) continue;
    gaps.erase(gaps.begin() + static_cast<long>(g));
    if (gap.lo < q) gaps.push_back(Gap{p, gap.lo, q});
    if (q + 1 < gap.hi) gaps.push_back(Gap{p, q + 1, gap.hi});
    return true;
  }
  return false;
}

std::int64_t EventChecks::outstanding(const std::vector<Sub>& subs) const {
  std::int64_t total = 0;
  for (std::size_t k = 0; k < subs.size(); ++k) {
    const Sub& s = subs[k];
    if (s.state != kStreaming) continue;  // a closed stream was counted already
    for (std::size_t p = 0; p < pubs_per_; ++p) {
      const std::uint32_t published =
          std::atomic_ref<std::uint32_t>(sh_.published[p * static_cast<std::size_t>(o_.topics) + s.topic])
              .load(std::memory_order_relaxed);
      if (published > next_[k * pubs_per_ + p]) total += published - next_[k * pubs_per_ + p];
    }
    if (s.gaps)
      for (const Gap& g : *s.gaps) total += g.hi - g.lo;
  }
  return total;
}

void EventChecks::tally(const std::vector<Sub>& subs) {
  std::int64_t expected = 0, missing = 0;
  for (std::size_t k = 0; k < subs.size(); ++k) {
    const Sub& s = subs[k];
    for (std::size_t p = 0; p < pubs_per_; ++p) {
      const std::uint32_t published =
          std::atomic_ref<std::uint32_t>(sh_.published[p * static_cast<std::size_t>(o_.topics) + s.topic])
              .load(std::memory_order_relaxed);
      expected += published;
      if (published > next_[k * pubs_per_ + p]) missing += published - next_[k * pubs_per_ + p];
    }
    if (s.gaps)
      for (const Gap& g : *s.gaps) missing += g.hi - g.lo;
  }
  res_->expected = expected;
  res_->missing += missing;
}

}  // namespace bench::sse_load
