#include <ringcast/net/backend/detail/accept_gate.hpp>

#include <algorithm>

#include <ringcast/net/backend/detail/socket_ops.hpp>

namespace ringcast {
namespace {

// A shard's share of a server-wide rate: the kernel spreads connections evenly over the shards.
Rate share(double per_second, double burst, unsigned shards) noexcept {
  if (per_second <= 0) return {};
  const double n = std::max(1u, shards);
  const double b = burst > 0 ? burst : per_second;
  return {std::max(per_second / n, 1e-3), std::max(b / n, 1.0)};
}

}  // namespace

AcceptGate::AcceptGate(const AcceptLimits& limits, unsigned shards, uint64_t now_ms)
    : server_rate_(share(limits.per_second, limits.burst, shards)), server_(server_rate_, now_ms) {
  const Rate per_address = share(limits.per_address_per_second, limits.per_address_burst, shards);
  if (per_address.limited()) addresses_ = std::make_unique<AddressBuckets>(per_address, limits.addresses);
}

bool AcceptGate::admit(int fd, uint64_t now_ms) {
  return !addresses_ || addresses_->take(peer_address(fd), now_ms) == 0;
}

uint64_t AcceptGate::accepted(uint64_t now_ms) {
  if (!server_rate_.limited()) return 0;
  server_.spend(server_rate_, 1, now_ms);  // already accepted: it stays whatever the bucket holds
  return server_.wait_ms(server_rate_, 1, now_ms);
}

}  // namespace ringcast
