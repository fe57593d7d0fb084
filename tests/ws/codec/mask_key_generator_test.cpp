#include <ringcast/ws/codec/detail/mask_key_generator.hpp>

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <array>
#include <vector>

using namespace ringcast;

TEST_CASE("the ChaCha20 block function gives the RFC 8439 §2.3.2 test vector") {
  uint32_t key[8];
  for (int i = 0; i < 8; ++i) {
    key[i] = uint32_t(4 * i) | uint32_t(4 * i + 1) << 8 | uint32_t(4 * i + 2) << 16 | uint32_t(4 * i + 3) << 24;
  }
  const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0x00000000};
  uint32_t out[16];
  MaskKeyGenerator::chacha20_block(key, 1, nonce, out);
  const uint8_t expected[64] = {
      0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
      0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
      0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
      0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  for (int i = 0; i < 64; ++i) {
    CAPTURE(i);
    CHECK(static_cast<uint8_t>(out[i / 4] >> (8 * (i % 4))) == expected[i]);
  }
}

TEST_CASE("a keyed generator's keys are OpenSSL's ChaCha20 keystream, in order") {
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0xA0 + i);
  constexpr size_t kBytes = 64 * 5;
  // OpenSSL's ChaCha20 takes a 16-byte IV: the 32-bit block counter (little-endian), then the nonce.
  std::vector<uint8_t> zeros(kBytes, 0), stream(kBytes);
  const uint8_t iv[16] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  REQUIRE(ctx != nullptr);
  int len = 0;
  REQUIRE(EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), iv) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx, stream.data(), &len, zeros.data(), static_cast<int>(kBytes)) == 1);
  EVP_CIPHER_CTX_free(ctx);
  REQUIRE(len == static_cast<int>(kBytes));

  MaskKeyGenerator gen(std::span<const uint8_t, 32>(key.data(), 32));
  for (size_t i = 0; i < kBytes; i += 4) {
    uint8_t bytes[4];
    store_mask_key(gen.next(), bytes);
    CAPTURE(i);
    CHECK(std::equal(bytes, bytes + 4, stream.begin() + static_cast<std::ptrdiff_t>(i)));
  }
  MaskKeyGenerator again(std::span<const uint8_t, 32>(key.data(), 32));
  std::vector<uint8_t> filled(kBytes);
  again.fill(filled);
  CHECK(filled == stream);
}

TEST_CASE("generators seeded from the system differ, and so do a thread's successive keys") {
  MaskKeyGenerator a, b;
  bool differ = false;
  for (int i = 0; i < 4; ++i) differ |= a.next() != b.next();
  CHECK(differ);  // 128 bits equal by chance: never
  const MaskKey k1 = next_mask_key();
  const MaskKey k2 = next_mask_key();
  const MaskKey k3 = next_mask_key();
  CHECK_FALSE((k1 == k2 && k2 == k3));
}
