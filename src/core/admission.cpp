#include "core/admission.hpp"

#include <cstring>

namespace mercure {

std::size_t AddressKeyHash::operator()(const AddressKey& a) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, a.bytes.data(), 8);
  std::memcpy(&low, a.bytes.data() + 8, 8);
  // splitmix64-style mixing, so nearby addresses spread over the stripes and buckets.
  std::uint64_t h = high * 0x9E3779B97F4A7C15ULL ^ low;
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return static_cast<std::size_t>(h);
}

ConnectionTicket& ConnectionTicket::operator=(ConnectionTicket&& o) noexcept {
  if (this != &o) {
    if (limits_ != nullptr) limits_->release(address_);
    limits_ = std::exchange(o.limits_, nullptr);
    address_ = o.address_;
  }
  return *this;
}

ConnectionTicket::~ConnectionTicket() {
  if (limits_ != nullptr) limits_->release(address_);
}

ConnectionLimits::ConnectionLimits(std::size_t max_total, std::size_t max_per_address)
    : max_total_(max_total), per_address_(max_per_address) {}

std::pair<ConnectionLimits::Verdict, ConnectionTicket> ConnectionLimits::admit(const AddressKey& address) {
  std::size_t open = open_.load(std::memory_order_relaxed);
  do {
    if (max_total_ != 0 && open >= max_total_) return {Verdict::hub_full, ConnectionTicket{}};
  } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  if (!per_address_.try_acquire(address)) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return {Verdict::address_full, ConnectionTicket{}};
  }
  return {Verdict::admitted, ConnectionTicket{this, address}};
}

void ConnectionLimits::release(const AddressKey& address) {
  per_address_.release(address);
  open_.fetch_sub(1, std::memory_order_relaxed);
}

StreamTicket& StreamTicket::operator=(StreamTicket&& o) noexcept {
  if (this != &o) {
    if (limits_ != nullptr) limits_->per_token_.release(key_);
    limits_ = std::exchange(o.limits_, nullptr);
    key_ = o.key_;
  }
  return *this;
}

StreamTicket::~StreamTicket() {
  if (limits_ != nullptr) limits_->per_token_.release(key_);
}

std::uint64_t StreamLimits::key_of(std::string_view token) noexcept {
  return static_cast<std::uint64_t>(std::hash<std::string_view>{}(token));
}

std::pair<bool, StreamTicket> StreamLimits::open(std::string_view token) {
  if (per_token_.limit() == 0) return {true, StreamTicket{}};
  const std::uint64_t key = key_of(token);
  if (!per_token_.try_acquire(key)) return {false, StreamTicket{}};
  return {true, StreamTicket{this, key}};
}

std::size_t StreamLimits::open_streams(std::string_view token) const {
  return per_token_.count(key_of(token));
}

}  // namespace mercure
