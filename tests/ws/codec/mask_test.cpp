#include <ringcast/ws/codec/detail/mask.hpp>

#include <doctest/doctest.h>

#include <random>
#include <vector>

using namespace ringcast;

namespace {
const uint8_t kKey[4] = {0x12, 0x34, 0x56, 0x78};

std::vector<uint8_t> naive(const std::vector<uint8_t>& in, size_t offset) {
  std::vector<uint8_t> out(in);
  for (size_t i = 0; i < out.size(); ++i) out[i] ^= kKey[(offset + i) % 4];
  return out;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}
}  // namespace

TEST_CASE("every kernel masks every length and key offset like the byte-by-byte definition") {
  std::mt19937 rng(1);
  for (SimdLevel level : {SimdLevel::scalar, SimdLevel::ssse3, SimdLevel::avx2}) {
    if (!simd_level_supported(level)) continue;
    CAPTURE(to_string(level));
    for (size_t len = 0; len < 600; len += (len < 300 ? 1 : 37)) {
      for (size_t offset = 0; offset < 4; ++offset) {
        CAPTURE(len);
        CAPTURE(offset);
        const std::vector<uint8_t> src = random_bytes(len, rng);
        std::vector<uint8_t> in_place = src;
        const MaskKey key = rotate_mask_key(load_mask_key(kKey), offset);
        const MaskKey next = detail::mask_bytes_with(level, in_place.data(), in_place.data(), len, key);
        CHECK(in_place == naive(src, offset));
        CHECK(next == rotate_mask_key(load_mask_key(kKey), offset + len));
        std::vector<uint8_t> copy(len + 1, 0xAB);
        detail::mask_bytes_with(level, copy.data(), src.data(), len, key);
        CHECK(std::vector<uint8_t>(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(len)) == naive(src, offset));
        CHECK(copy[len] == 0xAB);  // nothing written past the end
      }
    }
  }
}

TEST_CASE("a payload masked piece by piece with the returned keys equals the payload masked whole") {
  std::mt19937 rng(2);
  const std::vector<uint8_t> src = random_bytes(100000, rng);
  std::vector<uint8_t> pieces = src;
  MaskKey key = load_mask_key(kKey);
  for (size_t pos = 0; pos < pieces.size();) {
    const size_t len = std::min<size_t>(std::uniform_int_distribution<size_t>(0, 700)(rng), pieces.size() - pos);
    key = apply_mask(std::span(pieces).subspan(pos, len), key);
    pos += len;
  }
  CHECK(pieces == naive(src, 0));
  // The explicit-offset form agrees.
  std::vector<uint8_t> tail(src.begin() + 1001, src.end());
  apply_mask(tail, load_mask_key(kKey), 1001);
  CHECK(std::equal(tail.begin(), tail.end(), pieces.begin() + 1001));
}

TEST_CASE("masking twice restores the payload") {
  std::mt19937 rng(3);
  const std::vector<uint8_t> src = random_bytes(5000, rng);
  std::vector<uint8_t> b = src;
  apply_mask(b, load_mask_key(kKey));
  CHECK(b != src);
  apply_mask(b, load_mask_key(kKey));
  CHECK(b == src);
}

TEST_CASE("mask keys round-trip through bytes and rotate by the offset") {
  uint8_t out[4];
  store_mask_key(load_mask_key(kKey), out);
  CHECK(std::equal(out, out + 4, kKey));
  store_mask_key(rotate_mask_key(load_mask_key(kKey), 1), out);
  CHECK(out[0] == 0x34);
  CHECK(out[3] == 0x12);
  CHECK(rotate_mask_key(load_mask_key(kKey), 4) == load_mask_key(kKey));
  CHECK(rotate_mask_key(load_mask_key(kKey), 7) == rotate_mask_key(load_mask_key(kKey), 3));
}
