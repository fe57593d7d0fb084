#pragma once
// LoginThrottle: how many password checks one client address may cost the server. Each address has a
// bucket of `burst` tokens that refills by one every `refill`. A login attempt takes a token before
// its password is hashed; a good login gives it back, a failed one keeps it spent. So:
//   - a failed login is never cheaper than a good one: guessing from one address settles at one try
//     per `refill` after the first `burst` (429 Too Many Requests with Retry-After, RFC 6585 §4);
//   - one address never has more than `burst` hashes queued or running, so it cannot fill the login
//     pool's queue alone (the queue's own bound, 503, covers many addresses at once);
//   - users who type their password right are never throttled.
// Addresses are whole IPv4 addresses and IPv6 /64 prefixes (one host usually holds a whole /64).
// Behind a reverse proxy every client has the proxy's address: give such a deployment a larger burst.
//
// Memory: at most `max_addresses` buckets (ringcast/net/address_buckets.hpp: about 100 bytes each).
// When that many are tracked, full buckets are dropped and then the address tracked longest, so a
// flood of addresses never lets the next one guess untracked: it fails safe.
//
// Threads: every method from any thread (one mutex; logins only, never the message path).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

#include <ringcast/net/address_buckets.hpp>
#include <ringcast/net/socket_address.hpp>

namespace ringcast::chat {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // `burst` 0: no limit.
  explicit LoginThrottle(unsigned burst = 10, std::chrono::milliseconds refill = std::chrono::seconds(6),
                         size_t max_addresses = 1 << 16)
      : burst_(burst),
        buckets_(Rate{1000.0 / static_cast<double>(std::max<int64_t>(refill.count(), 1)), static_cast<double>(burst)},
                 max_addresses) {}

  // Takes a token for one attempt from `client`'s bucket: 0 when granted, else the whole seconds
  // (at least 1) until a token is back, for Retry-After.
  unsigned take(const SocketAddress& client, Clock::time_point now = Clock::now()) {
    if (burst_ == 0) return 0;
    std::lock_guard lock(mutex_);
    const uint64_t wait_ms = buckets_.take(client, ms(now));
    return wait_ms == 0 ? 0 : std::max(1u, static_cast<unsigned>((wait_ms + 999) / 1000));
  }

  // Returns the token of an attempt that cost nothing lasting: a good login, or one never hashed.
  void give_back(const SocketAddress& client) {
    if (burst_ == 0) return;
    std::lock_guard lock(mutex_);
    buckets_.give_back(client);
  }

  size_t tracked() {
    std::lock_guard lock(mutex_);
    return buckets_.tracked();
  }

 private:
  static uint64_t ms(Clock::time_point t) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
  }

  const unsigned burst_;
  std::mutex mutex_;
  AddressBuckets buckets_;
};

}  // namespace ringcast::chat
