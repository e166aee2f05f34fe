#include "http/connection_refusal.hpp"

#include "core/log_sampler.hpp"
#include "core/metrics.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <vector>

namespace mercure {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Refused connections are logged at most once a second per shard (with how many more were
// refused meanwhile), and at most kMaxLingering of them per shard wait for the client to read
// the answer: a flood of connections must not become a flood of log lines or descriptors.
constexpr std::size_t kMaxLingering = 16;
// How long a refused TLS connection may take to complete its handshake and read the answer.
constexpr auto kRefusalHandshake = std::chrono::seconds(2);
struct RefusalState {
  LogSampler log{1, std::chrono::seconds(1)};
  std::size_t lingering = 0;
};
thread_local RefusalState refusals;

}  // namespace

AddressKey address_key(const asio::ip::address& address) {
  AddressKey key;
  if (address.is_v4()) {
    const auto mapped = asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4());
    key.bytes = mapped.to_bytes();
    return key;
  }
  const auto v6 = address.to_v6();
  key.bytes = v6.to_bytes();
  if (!v6.is_v4_mapped()) std::fill(key.bytes.begin() + 8, key.bytes.end(), std::uint8_t{0});
  return key;
}

std::string refusal_reason(const ConnectionLimits& limits, ConnectionLimits::Verdict verdict) {
  if (verdict == ConnectionLimits::Verdict::hub_full) {
    return "too many connections to the hub (at most " + std::to_string(limits.max_total()) + ")";
  }
  return "too many connections from this address (at most " + std::to_string(limits.max_per_address()) + ")";
}

asio::awaitable<void> refuse_connection(Shard* shard, HttpStream& stream, const std::string& reason,
                                        const std::string& remote) {
  shard->metrics().request_rejected(shard->id(), RejectReason::too_many_connections);
  if (std::uint64_t unlogged = 0; refusals.log.admit(SteadyClock::now(), unlogged)) {
    if (unlogged == 0) {
      spdlog::info("connection refused: 429 {} (from {})", reason, remote);
    } else {
      spdlog::info("connection refused: 429 {} (from {}; {} more refused in the last second)", reason, remote,
                   unlogged);
    }
  }
  const std::string body = reason + "\n";
  std::string answer = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n" +
                       std::string(kSecurityFieldsText) + "Retry-After: " + std::to_string(kRetryAfterSeconds) +
                       "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::system::error_code ec;
  if (stream.is_tls()) {
    // A TLS client reads the answer only after a handshake: a few at a time, each within a
    // short fixed time; the others are closed at once (the limit bounds descriptors and CPU).
    if (refusals.lingering < kMaxLingering) {
      ++refusals.lingering;
      stream.tcp().expires_after(kRefusalHandshake);
      ec = co_await stream.handshake();
      if (!ec) ec = co_await stream.write(answer, kRefusalHandshake);
      if (!ec) co_await linger(&stream);
      --refusals.lingering;
    }
  } else {
    set_expiry(stream.tcp(), shard->options().dispatch_timeout);
    ec = co_await stream.write(answer, shard->options().dispatch_timeout);
    if (!ec && refusals.lingering < kMaxLingering) {
      ++refusals.lingering;
      co_await linger(&stream);
      --refusals.lingering;
    }
  }
  boost::system::error_code ignored;
  stream.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

// Closing at once would reset the connection and destroy the response in the client's receive
// buffer.
asio::awaitable<void> linger(HttpStream* stream) {
  constexpr std::size_t kMaxDrain = 16 * 1024 * 1024;
  stream->shutdown_send();
  stream->tcp().expires_after(std::chrono::seconds(2));
  std::vector<char> sink(16 * 1024);
  std::size_t drained = 0;
  while (drained < kMaxDrain) {
    // What arrives (TLS: records) is discarded undecrypted.
    auto [ec, n] = co_await stream->tcp().async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    drained += n;
  }
}

}  // namespace mercure
