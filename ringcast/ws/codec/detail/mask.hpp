#pragma once
// RFC 6455 §5.3 payload masking: byte i of a payload is XORed with byte (i mod 4) of the frame's
// masking key. The same operation masks (client, sending) and unmasks (server, receiving). Short
// payloads are done inline 8 bytes at a time; from 64 bytes on, a vector kernel (SSE2, or AVX2 where
// the CPU has it) takes over. Pure functions, callable from any thread, no allocation.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <ringcast/ws/codec/detail/simd_level.hpp>

namespace ringcast {

// The 4 key bytes in wire order, loaded with memcpy: the bytes are what matters, not the integer value
// (which differs between little- and big-endian hosts).
using MaskKey = uint32_t;

inline MaskKey load_mask_key(const uint8_t* p) noexcept {
  MaskKey k;
  std::memcpy(&k, p, 4);
  return k;
}

inline void store_mask_key(MaskKey key, uint8_t* p) noexcept { std::memcpy(p, &key, 4); }

// The key that applies to byte `offset` of a payload first: the key bytes rotated by offset mod 4.
constexpr MaskKey rotate_mask_key(MaskKey key, size_t offset) noexcept {
  const int bits = static_cast<int>(offset & 3) * 8;
  if constexpr (std::endian::native == std::endian::little) return std::rotr(key, bits);
  else return std::rotl(key, bits);
}

namespace detail {
MaskKey mask_bytes_wide(uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept;
// The kernel of one SimdLevel (tests compare them; `level` must be supported by the CPU).
MaskKey mask_bytes_with(SimdLevel level, uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept;
}  // namespace detail

// XORs `len` bytes of `src` with `key` into `dst`: in place when dst == src, otherwise the ranges must
// not overlap. Returns the key for the byte after the last, so that a payload masked piece by piece
// (across recv buffers) comes out as if masked whole.
inline MaskKey mask_bytes(uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept {
  if (len >= 64) return detail::mask_bytes_wide(dst, src, len, key);
  uint64_t key64 = key;
  key64 |= key64 << 32;  // the 4 bytes twice, in memory order on either endianness
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= key64;
    std::memcpy(dst + i, &w, 8);
  }
  uint8_t kb[4];
  store_mask_key(key, kb);
  for (; i < len; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ kb[i & 3]);
  return rotate_mask_key(key, len);
}

// Masks or unmasks `data` in place; returns the key for the byte that follows.
inline MaskKey apply_mask(std::span<uint8_t> data, MaskKey key) noexcept {
  return mask_bytes(data.data(), data.data(), data.size(), key);
}

// Same, for a piece that starts `offset` bytes into the payload that `key` masks from its start.
inline void apply_mask(std::span<uint8_t> data, MaskKey key, size_t offset) noexcept {
  mask_bytes(data.data(), data.data(), data.size(), rotate_mask_key(key, offset));
}

}  // namespace ringcast
