#pragma once
// OtpStore: the one-time tokens that carry a login (POST /login) to a WebSocket upgrade
// (GET /ws?otp=TOKEN). A token is 128 bits from OpenSSL's RAND_bytes, written as 32 hex digits; it is
// good for one upgrade, within `ttl` of its issue.
//
// Shared by every shard: with SO_REUSEPORT the login and the upgrade usually land on different
// shards. A mutex guards one small map — acceptable because only logins and upgrades take it, never
// the message path, and each holds it for a map operation. Expired tokens are swept on issue (at
// most once per `ttl`), so the map holds only the tokens issued in the last two `ttl`s.
//
// Threads: every method may be called from any thread.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringcast::chat {

// 128 bits from OpenSSL's RAND_bytes as 32 lowercase hex digits; empty when the generator fails.
std::string new_token();

class OtpStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OtpStore(std::chrono::milliseconds ttl = std::chrono::seconds(5)) : ttl_(ttl) {}

  // A new token for `user`; empty when the random generator fails (answer 500).
  std::string issue(std::string_view user);
  // The user of `token`, once: the token is consumed. nullopt when unknown, used or expired.
  std::optional<std::string> redeem(std::string_view token);

  std::chrono::milliseconds ttl() const noexcept { return ttl_; }
  size_t size();

 private:
  struct Entry {
    std::string user;
    Clock::time_point expires;
  };

  const std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> tokens_;
  Clock::time_point next_sweep_{};
};

}  // namespace ringcast::chat
