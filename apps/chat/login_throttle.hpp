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
// Memory: at most `max_addresses` buckets (about 100 bytes each); full buckets are swept (at most
// once a second) when that many are tracked, and beyond it new addresses go untracked rather than
// refused, so a flood of addresses cannot lock everyone out.
//
// Threads: every method from any thread (one mutex; logins only, never the message path).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include <ringcast/net/socket_address.hpp>

namespace ringcast::chat {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  // `burst` 0: no limit.
  explicit LoginThrottle(unsigned burst = 10, std::chrono::milliseconds refill = std::chrono::seconds(6),
                         size_t max_addresses = 1 << 16)
      : burst_(burst), refill_(std::max(refill, std::chrono::milliseconds(1))), max_addresses_(max_addresses) {}

  // Takes a token for one attempt from `client`'s bucket: 0 when granted, else the whole seconds
  // (at least 1) until a token is back, for Retry-After.
  unsigned take(const SocketAddress& client, Clock::time_point now = Clock::now()) {
    if (burst_ == 0) return 0;
    const std::string key = key_of(client);
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_addresses_) sweep(now);
      if (buckets_.size() >= max_addresses_) return 0;  // untracked: the pool's bound still holds
      it = buckets_.emplace(key, Bucket{static_cast<double>(burst_), now}).first;
    }
    Bucket& b = refilled(it->second, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    const double wait_ms = (1 - b.tokens) * static_cast<double>(refill_.count());
    return std::max(1u, static_cast<unsigned>(std::ceil(wait_ms / 1000 - 1e-6)));  // 3.9999999 s is 4 s
  }

  // Returns the token of an attempt that cost nothing lasting: a good login, or one never hashed.
  void give_back(const SocketAddress& client) {
    if (burst_ == 0) return;
    const std::string key = key_of(client);
    std::lock_guard lock(mutex_);
    const auto it = buckets_.find(key);
    if (it != buckets_.end()) it->second.tokens = std::min<double>(burst_, it->second.tokens + 1);
  }

  size_t tracked() {
    std::lock_guard lock(mutex_);
    return buckets_.size();
  }

  // The bucket key: family, then the IPv4 address or the IPv6 /64 (an IPv4-mapped IPv6 address counts
  // as its IPv4 address). Short enough to stay in std::string's own storage.
  static std::string key_of(const SocketAddress& a) {
    if (a.family() == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a.data());
      return std::string("4") + std::string(reinterpret_cast<const char*>(&in->sin_addr), 4);
    }
    if (a.family() == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.data());
      const auto* bytes = reinterpret_cast<const char*>(&in6->sin6_addr);
      if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return std::string("4") + std::string(bytes + 12, 4);
      return std::string("6") + std::string(bytes, 8);
    }
    return "?";  // unknown (the client left before it was asked): they share one bucket
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;  // when `tokens` was last brought up to date
  };

  // The tokens `b` holds at `now`.
  double tokens_at(const Bucket& b, Clock::time_point now) const {
    if (now <= b.at) return b.tokens;
    const double gained = std::chrono::duration<double, std::milli>(now - b.at).count() / static_cast<double>(refill_.count());
    return std::min<double>(burst_, b.tokens + gained);
  }

  Bucket& refilled(Bucket& b, Clock::time_point now) const {
    b.tokens = tokens_at(b, now);
    b.at = std::max(b.at, now);
    return b;
  }

  void sweep(Clock::time_point now) {
    if (now < next_sweep_) return;
    next_sweep_ = now + std::chrono::seconds(1);
    std::erase_if(buckets_, [&](const auto& kv) { return tokens_at(kv.second, now) >= burst_; });
  }

  const unsigned burst_;
  const std::chrono::milliseconds refill_;
  const size_t max_addresses_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point next_sweep_{};
};

}  // namespace ringcast::chat
