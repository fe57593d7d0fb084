#include "apps/chat/otp_store.hpp"

#include <openssl/rand.h>

namespace ringcast::chat {

std::string new_token() {
  unsigned char bytes[16];  // 128 bits
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token(2 * sizeof bytes, '\0');
  for (size_t i = 0; i < sizeof bytes; ++i) {
    token[2 * i] = kHex[bytes[i] >> 4];
    token[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return token;
}

std::string OtpStore::issue(std::string_view user) {
  std::string token = new_token();
  if (token.empty()) return {};
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex_);
  if (now >= next_sweep_) {
    std::erase_if(tokens_, [now](const auto& kv) { return kv.second.expires <= now; });
    next_sweep_ = now + ttl_;
  }
  tokens_[token] = Entry{std::string(user), now + ttl_};
  return token;
}

std::optional<std::string> OtpStore::redeem(std::string_view token) {
  if (token.size() != 32) return std::nullopt;
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(mutex_);
  const auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  Entry entry = std::move(it->second);
  tokens_.erase(it);  // single use, whether or not it is still in time
  if (entry.expires <= now) return std::nullopt;
  return std::move(entry.user);
}

size_t OtpStore::size() {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

}  // namespace ringcast::chat
