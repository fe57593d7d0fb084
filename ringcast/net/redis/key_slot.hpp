#pragma once
// Redis Cluster's hash slots: a key belongs to slot CRC16(key) mod 16384, where CRC16 is the
// CCITT/XMODEM variant (polynomial 0x1021, initial value 0) and only the key's hash tag is hashed
// when it has one: the bytes between its first '{' and the first '}' after that, if there is at
// least one byte between them ("{user1000}.following" hashes "user1000"; "foo{}{bar}" hashes the
// whole key; "foo{{bar}}zap" hashes "{bar"; "foo{bar}{zap}" hashes "bar"). Keys that share a tag
// share a slot, so one command or script may touch them all.
//
// Pure functions; any thread.
#include <cstdint>
#include <string_view>

namespace ringcast {

inline constexpr uint16_t kRedisSlots = 16384;

// CRC16-CCITT (XMODEM), as the cluster specification gives it: "123456789" → 0x31C3.
uint16_t redis_crc16(std::string_view bytes) noexcept;
// The part of `key` that decides its slot.
std::string_view redis_hash_tag(std::string_view key) noexcept;
// The slot of `key` (or of a sharded pub/sub channel).
inline uint16_t redis_key_slot(std::string_view key) noexcept {
  return static_cast<uint16_t>(redis_crc16(redis_hash_tag(key)) & (kRedisSlots - 1));
}

}  // namespace ringcast
