#include <ringcast/ws/codec/detail/mask.hpp>

#if defined(__x86_64__)
#include <immintrin.h>
#define RINGCAST_X86 1
#endif

namespace ringcast::detail {
namespace {

// Bytes [done, len) once the vector loop has masked [0, done) (done is a multiple of 4, so the key
// phase is unchanged).
MaskKey mask_tail(uint8_t* dst, const uint8_t* src, size_t done, size_t len, MaskKey key) noexcept {
  mask_bytes(dst + done, src + done, len - done, key);  // len - done < 64: the inline path
  return rotate_mask_key(key, len);
}

MaskKey mask_scalar(uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept {
  uint64_t key64 = key;
  key64 |= key64 << 32;
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    uint64_t w[4];
    std::memcpy(w, src + i, 32);
    w[0] ^= key64;
    w[1] ^= key64;
    w[2] ^= key64;
    w[3] ^= key64;
    std::memcpy(dst + i, w, 32);
  }
  return mask_tail(dst, src, i, len, key);
}

#ifdef RINGCAST_X86
// SSE2 is part of x86-64 itself: no dispatch needed, it stands in for the "ssse3" level too.
MaskKey mask_sse2(uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept {
  const __m128i k = _mm_set1_epi32(static_cast<int>(key));
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 48));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_xor_si128(a, k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 16), _mm_xor_si128(b, k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 32), _mm_xor_si128(c, k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 48), _mm_xor_si128(d, k));
  }
  for (; i + 16 <= len; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_xor_si128(a, k));
  }
  return mask_tail(dst, src, i, len, key);
}

__attribute__((target("avx2"))) MaskKey mask_avx2(uint8_t* dst, const uint8_t* src, size_t len,
                                                  MaskKey key) noexcept {
  const __m256i k = _mm256_set1_epi32(static_cast<int>(key));
  size_t i = 0;
  for (; i + 128 <= len; i += 128) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 64));
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 32), _mm256_xor_si256(b, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 64), _mm256_xor_si256(c, k));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 96), _mm256_xor_si256(d, k));
  }
  for (; i + 32 <= len; i += 32) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a, k));
  }
  return mask_tail(dst, src, i, len, key);
}
#endif

using Kernel = MaskKey (*)(uint8_t*, const uint8_t*, size_t, MaskKey) noexcept;

Kernel kernel_for(SimdLevel level) noexcept {
#ifdef RINGCAST_X86
  switch (level) {
    case SimdLevel::scalar: return mask_scalar;
    case SimdLevel::ssse3: return mask_sse2;
    case SimdLevel::avx2: return mask_avx2;
  }
#else
  (void)level;
#endif
  return mask_scalar;
}

}  // namespace

MaskKey mask_bytes_wide(uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept {
  static const Kernel kernel = kernel_for(simd_level());
  return kernel(dst, src, len, key);
}

MaskKey mask_bytes_with(SimdLevel level, uint8_t* dst, const uint8_t* src, size_t len, MaskKey key) noexcept {
  return kernel_for(level)(dst, src, len, key);
}

}  // namespace ringcast::detail
