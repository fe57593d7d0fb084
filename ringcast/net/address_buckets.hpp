#pragma once
// AddressBuckets: a rate limit per client address — a token bucket (ringcast/core/token_bucket.hpp) each —
// for limits such as connections per second from one address (the loop's AcceptLimits) or login
// attempts per address (ringcast-chat). An address is a whole IPv4 address or an IPv6 /64 (one host
// usually holds a whole /64); an IPv4-mapped IPv6 address counts as its IPv4 address; clients whose
// address is unknown (AF_UNSPEC) share one bucket.
//
// Memory is bounded: at most `capacity` addresses, about 100 bytes each. A bucket that is full again
// says nothing worth keeping: when a new address finds the table full, such buckets are dropped (a sweep,
// at most once a second); if none is, the address tracked longest makes room. So a flood of addresses
// never turns the limit off for the next one, and an address that was limited is forgotten only after
// `capacity` other addresses have come since.
//
// Not thread-safe: one shard uses it, or its owner's lock guards it.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

#include <ringcast/core/token_bucket.hpp>
#include <ringcast/net/socket_address.hpp>

namespace ringcast {

class AddressBuckets {
 public:
  // The part of an address a bucket is for: family, then the IPv4 address or the IPv6 /64.
  struct Key {
    uint64_t bits = 0;
    int family = 0;
    bool operator==(const Key&) const = default;
  };
  static Key key_of(const SocketAddress& address) noexcept;

  explicit AddressBuckets(Rate rate, size_t capacity = size_t{1} << 16) noexcept : rate_(rate), capacity_(capacity) {}

  // Takes `n` tokens from the bucket of `address` at `now_ms` (a monotonic clock in milliseconds): 0
  // when granted, else the milliseconds until they would be there.
  uint64_t take(const SocketAddress& address, uint64_t now_ms, double n = 1);
  // Returns `n` tokens to the bucket of `address` (an attempt that cost nothing), up to the burst.
  void give_back(const SocketAddress& address, double n = 1);

  size_t tracked() const noexcept { return buckets_.size(); }
  const Rate& rate() const noexcept { return rate_; }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept { return k.bits * 0x9e3779b97f4a7c15ull ^ static_cast<size_t>(k.family); }
  };
  struct Entry {
    TokenBucket bucket;
    uint64_t serial;  // its place in order_
  };

  void make_room(uint64_t now_ms);

  const Rate rate_;
  const size_t capacity_;
  std::unordered_map<Key, Entry, KeyHash> buckets_;
  std::deque<std::pair<Key, uint64_t>> order_;  // (address, serial) in the order they came; stale ones skipped
  uint64_t next_serial_ = 0;
  uint64_t next_sweep_ms_ = 0;
};

}  // namespace ringcast
