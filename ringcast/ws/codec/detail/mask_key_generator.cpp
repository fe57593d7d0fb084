#include <ringcast/ws/codec/detail/mask_key_generator.hpp>

#include <openssl/rand.h>

#include <bit>
#include <cstring>
#include <random>

namespace ringcast {
namespace {

inline void quarter_round(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) noexcept {
  a += b; d ^= a; d = std::rotl(d, 16);
  c += d; b ^= c; b = std::rotl(b, 12);
  a += b; d ^= a; d = std::rotl(d, 8);
  c += d; b ^= c; b = std::rotl(b, 7);
}

uint32_t load_le32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

void MaskKeyGenerator::chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                                      uint32_t out[16]) noexcept {
  // §2.3: "expand 32-byte k", key, counter, nonce.
  const uint32_t init[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, key[0], key[1], key[2], key[3],
                             key[4],     key[5],     key[6],     key[7],     counter, nonce[0], nonce[1], nonce[2]};
  uint32_t x[16];
  std::memcpy(x, init, sizeof x);
  for (int i = 0; i < 10; ++i) {  // 20 rounds: column round, then diagonal round
    quarter_round(x[0], x[4], x[8], x[12]);
    quarter_round(x[1], x[5], x[9], x[13]);
    quarter_round(x[2], x[6], x[10], x[14]);
    quarter_round(x[3], x[7], x[11], x[15]);
    quarter_round(x[0], x[5], x[10], x[15]);
    quarter_round(x[1], x[6], x[11], x[12]);
    quarter_round(x[2], x[7], x[8], x[13]);
    quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) out[i] = x[i] + init[i];
}

MaskKeyGenerator::MaskKeyGenerator() {
  uint8_t seed[32];
  if (RAND_bytes(seed, sizeof seed) != 1) {
    std::random_device rd;
    for (size_t i = 0; i < sizeof seed; i += 4) {
      const uint32_t r = rd();
      std::memcpy(seed + i, &r, 4);
    }
  }
  for (int i = 0; i < 8; ++i) key_[i] = load_le32(seed + 4 * i);
}

MaskKeyGenerator::MaskKeyGenerator(std::span<const uint8_t, 32> key) noexcept {
  for (int i = 0; i < 8; ++i) key_[i] = load_le32(key.data() + 4 * i);
}

void MaskKeyGenerator::refill() noexcept {
  // A 64-bit block counter: the low word is RFC 8439's counter, the high word takes the first nonce
  // word's place, so the stream never repeats (2^64 blocks).
  const uint32_t nonce[3] = {static_cast<uint32_t>(counter_ >> 32), 0, 0};
  uint32_t words[16];
  chacha20_block(key_, static_cast<uint32_t>(counter_), nonce, words);
  ++counter_;
  // Keys are the keystream bytes in order: word i serialized little-endian (§2.3), loaded as a MaskKey.
  for (int i = 0; i < 16; ++i) {
    const uint8_t bytes[4] = {static_cast<uint8_t>(words[i]), static_cast<uint8_t>(words[i] >> 8),
                              static_cast<uint8_t>(words[i] >> 16), static_cast<uint8_t>(words[i] >> 24)};
    block_[i] = load_mask_key(bytes);
  }
  used_ = 0;
}

void MaskKeyGenerator::fill(std::span<uint8_t> out) noexcept {
  size_t i = 0;
  while (i < out.size()) {
    const MaskKey k = next();
    uint8_t bytes[4];
    store_mask_key(k, bytes);
    const size_t n = out.size() - i < 4 ? out.size() - i : 4;
    std::memcpy(out.data() + i, bytes, n);
    i += n;
  }
}

MaskKey next_mask_key() noexcept {
  thread_local MaskKeyGenerator generator;
  return generator.next();
}

}  // namespace ringcast
