#pragma once
// TokenBucket: a rate limit — up to `burst` at once, then `rate` per second — as 16 bytes of state. The
// rate and burst are the caller's (one Rate serves many buckets: every connection's, every address's).
// Time is the caller's too, in milliseconds of a monotonic clock (a shard's now_ms()), so a bucket
// costs no clock read and tests pass time in.
//
//   TokenBucket b(rate, now);          // starts full
//   if (b.take(rate, 1, now)) ...      // one token, if there is one
//
// Not thread-safe: one owner (a shard, or a lock) uses it.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ringcast {

struct Rate {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // the bucket's size (at least 1 token's worth is sensible)

  bool limited() const noexcept { return per_second > 0; }
};

class TokenBucket {
 public:
  TokenBucket() noexcept = default;
  TokenBucket(const Rate& rate, uint64_t now_ms) noexcept : tokens_(rate.burst), at_ms_(now_ms) {}

  // Tokens available at `now_ms` (time never runs backwards here).
  double available(const Rate& rate, uint64_t now_ms) const noexcept {
    if (now_ms <= at_ms_) return tokens_;
    return std::min(rate.burst, tokens_ + static_cast<double>(now_ms - at_ms_) * rate.per_second / 1000);
  }
  // Takes `n` tokens if that many are there.
  bool take(const Rate& rate, double n, uint64_t now_ms) noexcept {
    refill(rate, now_ms);
    if (tokens_ + kSlack < n) return false;
    tokens_ = std::max(0.0, tokens_ - n);
    return true;
  }
  // Takes up to `n` tokens at `now_ms`, never going below zero (for work already done).
  void spend(const Rate& rate, double n, uint64_t now_ms) noexcept {
    refill(rate, now_ms);
    tokens_ = std::max(0.0, tokens_ - n);
  }
  // Gives `n` tokens back, up to the burst.
  void give_back(const Rate& rate, double n) noexcept { tokens_ = std::min(rate.burst, tokens_ + n); }
  // Milliseconds until `n` tokens are there (0: now), at least 1 when they are not.
  uint64_t wait_ms(const Rate& rate, double n, uint64_t now_ms) const noexcept {
    const double missing = n - available(rate, now_ms);
    if (missing <= kSlack) return 0;
    if (rate.per_second <= 0) return UINT64_MAX;
    // A hair below the exact figure first: 4000.0000001 ms of rounding error is 4000 ms, not 4001.
    return std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(missing * 1000 / rate.per_second - 1e-6)));
  }
  bool full(const Rate& rate, uint64_t now_ms) const noexcept { return available(rate, now_ms) + kSlack >= rate.burst; }

 private:
  // Refills a millisecond at a time add up with rounding errors: a token short by this much is there.
  static constexpr double kSlack = 1e-6;

  void refill(const Rate& rate, uint64_t now_ms) noexcept {
    tokens_ = available(rate, now_ms);
    if (now_ms > at_ms_) at_ms_ = now_ms;
  }

  double tokens_ = 0;
  uint64_t at_ms_ = 0;
};

}  // namespace ringcast
