#pragma once
// AcceptGate: one shard's share of its server's AcceptLimits (ringcast/net/backend/loop_options.hpp),
// asked by the loop for every connection it accepts — whether the connection's address is within its
// rate, and whether the listener may go on accepting. Owned by the shard's Loop, used by its thread
// only. Without limits it costs one branch per accept; the address table exists only with a
// per-address limit, and then each accept costs one getpeername.
#include <cstdint>
#include <memory>

#include <ringcast/core/token_bucket.hpp>
#include <ringcast/net/address_buckets.hpp>
#include <ringcast/net/backend/loop_options.hpp>

namespace ringcast {

class AcceptGate {
 public:
  AcceptGate(const AcceptLimits& limits, unsigned shards, uint64_t now_ms);

  bool enabled() const noexcept { return server_rate_.limited() || addresses_ != nullptr; }
  // Whether the connection `fd` just accepted may stay: false when its address is over its rate.
  bool admit(int fd, uint64_t now_ms);
  // Counts an accepted connection against the server's rate: 0 while the listener may go on
  // accepting, else how many milliseconds it should stop for.
  uint64_t accepted(uint64_t now_ms);

 private:
  Rate server_rate_;
  TokenBucket server_;
  std::unique_ptr<AddressBuckets> addresses_;
};

}  // namespace ringcast
