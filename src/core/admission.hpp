#pragma once
// Concurrency limits shared by every shard: open connections in total and per client address,
// and open event streams per token. Counted once per connection or stream (never per event), so
// a few striped mutexes are cheap enough.
//
// Thread-safety: every member function may be called from any thread. Tickets are movable
// handles that give their slot back when destroyed; destroy them before their limits object.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace mercure {

// A client address as counted: an IPv4 address in its IPv4-mapped IPv6 form, or the /64 prefix
// of an IPv6 address (the low 64 bits zero: one subscriber line usually owns a whole /64, so
// counting single IPv6 addresses would be trivial to evade). Built by the HTTP layer.
struct AddressKey {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const AddressKey&, const AddressKey&) = default;
};

struct AddressKeyHash {
  std::size_t operator()(const AddressKey& a) const noexcept;
};

// Live holders per key; refuses a key once it holds `limit` slots. Limit 0 = no limit (nothing
// is counted).
template <class Key, class Hash = std::hash<Key>>
class KeyedCounter final {
 public:
  explicit KeyedCounter(std::size_t limit) : limit_(limit) {}
  KeyedCounter(const KeyedCounter&) = delete;
  KeyedCounter& operator=(const KeyedCounter&) = delete;

  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

  // Takes a slot of `key` unless it holds `limit` already.
  [[nodiscard]] bool try_acquire(const Key& key) {
    if (limit_ == 0) return true;
    Stripe& s = stripe(key);
    std::lock_guard lock(s.mutex);
    auto [it, inserted] = s.counts.try_emplace(key, 0);
    if (it->second >= limit_) return false;
    ++it->second;
    return true;
  }

  // Gives back a slot taken by try_acquire().
  void release(const Key& key) {
    if (limit_ == 0) return;
    Stripe& s = stripe(key);
    std::lock_guard lock(s.mutex);
    auto it = s.counts.find(key);
    if (it == s.counts.end()) return;
    if (--it->second == 0) s.counts.erase(it);
  }

  // Slots `key` holds now (0 when there is no limit).
  [[nodiscard]] std::size_t count(const Key& key) const {
    if (limit_ == 0) return 0;
    const Stripe& s = stripe(key);
    std::lock_guard lock(s.mutex);
    auto it = s.counts.find(key);
    return it == s.counts.end() ? 0 : it->second;
  }

 private:
  static constexpr std::size_t kStripes = 16;
  struct alignas(64) Stripe {
    mutable std::mutex mutex;
    std::unordered_map<Key, std::size_t, Hash> counts;
  };
  Stripe& stripe(const Key& key) { return stripes_[Hash{}(key) % kStripes]; }
  const Stripe& stripe(const Key& key) const { return stripes_[Hash{}(key) % kStripes]; }

  std::size_t limit_;
  std::array<Stripe, kStripes> stripes_;
};

class ConnectionLimits;

// One admitted connection; gives its slots back when destroyed.
class ConnectionTicket final {
 public:
  ConnectionTicket() = default;
  ConnectionTicket(ConnectionLimits* limits, const AddressKey& address) : limits_(limits), address_(address) {}
  ConnectionTicket(ConnectionTicket&& o) noexcept : limits_(std::exchange(o.limits_, nullptr)), address_(o.address_) {}
  ConnectionTicket& operator=(ConnectionTicket&& o) noexcept;
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;
  ~ConnectionTicket();

 private:
  ConnectionLimits* limits_ = nullptr;
  AddressKey address_;
};

class ConnectionLimits final {
 public:
  enum class Verdict { admitted, hub_full, address_full };

  // 0 = no limit, for either.
  ConnectionLimits(std::size_t max_total, std::size_t max_per_address);

  // Counts the connection when admitted (the ticket holds it), else counts nothing.
  [[nodiscard]] std::pair<Verdict, ConnectionTicket> admit(const AddressKey& address);

  [[nodiscard]] std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t max_total() const noexcept { return max_total_; }
  [[nodiscard]] std::size_t max_per_address() const noexcept { return per_address_.limit(); }

 private:
  friend class ConnectionTicket;
  void release(const AddressKey& address);

  std::size_t max_total_;
  std::atomic<std::size_t> open_{0};
  KeyedCounter<AddressKey, AddressKeyHash> per_address_;
};

class StreamLimits;

// One open event stream counted against its token; gives its slot back when destroyed.
class StreamTicket final {
 public:
  StreamTicket() = default;
  StreamTicket(StreamLimits* limits, std::uint64_t key) : limits_(limits), key_(key) {}
  StreamTicket(StreamTicket&& o) noexcept : limits_(std::exchange(o.limits_, nullptr)), key_(o.key_) {}
  StreamTicket& operator=(StreamTicket&& o) noexcept;
  StreamTicket(const StreamTicket&) = delete;
  StreamTicket& operator=(const StreamTicket&) = delete;
  ~StreamTicket();

 private:
  StreamLimits* limits_ = nullptr;
  std::uint64_t key_ = 0;
};

// Streams per token: the key is a 64-bit hash of the token's exact text (two distinct tokens
// sharing a hash would share a count: negligible odds, and only for tokens that verified).
class StreamLimits final {
 public:
  explicit StreamLimits(std::size_t max_per_token) : per_token_(max_per_token) {}

  // {true, ticket} when `token` has fewer than the limit open (always when there is no limit),
  // else {false, an empty ticket}.
  [[nodiscard]] std::pair<bool, StreamTicket> open(std::string_view token);

  [[nodiscard]] std::size_t max_per_token() const noexcept { return per_token_.limit(); }
  [[nodiscard]] std::size_t open_streams(std::string_view token) const;

 private:
  friend class StreamTicket;
  static std::uint64_t key_of(std::string_view token) noexcept;

  KeyedCounter<std::uint64_t> per_token_;
};

// Every limit the shards share; owned by the Server, outlives the shards.
struct Admission {
  Admission(std::size_t max_connections, std::size_t max_connections_per_address, std::size_t max_streams_per_token)
      : connections(max_connections, max_connections_per_address), streams(max_streams_per_token) {}

  ConnectionLimits connections;
  StreamLimits streams;
};

}  // namespace mercure
