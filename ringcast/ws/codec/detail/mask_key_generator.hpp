#pragma once
// Masking keys for frames a client sends. RFC 6455 §5.3: each key must be freshly and unpredictably
// chosen, so that the author of a payload cannot predict the bytes it becomes on the wire.
//
// Choice: the ChaCha20 keystream (RFC 8439 §2.3, 20 rounds, 64-bit block counter, zero nonce) under a
// 256-bit key drawn once from OpenSSL's RAND_bytes. A linear generator (xoshiro, PCG) would be faster,
// but a peer that sees a few of its outputs (every key is on the wire) can compute the state and
// predict every later key, which is exactly what §5.3 forbids. ChaCha20 stays unpredictable with all
// outputs known, and one 64-byte block gives 16 keys, so a key costs a few nanoseconds; calling
// RAND_bytes for each key would cost far more.
//
// One generator per thread (next_mask_key() keeps one in thread-local storage); not thread-safe.
// About 140 bytes. A process that forks should not keep using a parent's generator in the child.
#include <cstddef>
#include <cstdint>
#include <span>

#include <ringcast/ws/codec/detail/mask.hpp>

namespace ringcast {

class MaskKeyGenerator {
 public:
  // Keyed from RAND_bytes (from std::random_device if OpenSSL's generator fails).
  MaskKeyGenerator();
  // Keyed from a given 32-byte key (tests, reproducible runs).
  explicit MaskKeyGenerator(std::span<const uint8_t, 32> key) noexcept;

  MaskKey next() noexcept {
    if (used_ == 16) refill();
    return block_[used_++];
  }

  // The next `out.size()` bytes of the keystream (no reuse of bytes handed out as keys).
  void fill(std::span<uint8_t> out) noexcept;

  // RFC 8439 §2.3: the ChaCha20 block for `key` (8 little-endian words), block `counter` and
  // `nonce` (3 words), as 16 little-endian words. Public so tests can check it against RFC 8439.
  static void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
                             uint32_t out[16]) noexcept;

 private:
  void refill() noexcept;

  uint32_t key_[8];
  uint64_t counter_ = 0;
  uint32_t block_[16];
  uint32_t used_ = 16;
};

// A key from the calling thread's generator.
MaskKey next_mask_key() noexcept;

}  // namespace ringcast
