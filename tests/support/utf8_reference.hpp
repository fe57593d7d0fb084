#pragma once
// A slow, obviously correct UTF-8 checker that the fast validator is compared with (unit tests and the
// utf8 fuzz target). It walks code point by code point; after each byte of a multi-byte sequence it
// computes the range of values that the sequence can still become ([lo, hi]: the missing continuation
// bits all 0 or all 1) and asks whether that range holds a scalar value of the sequence's length
// (RFC 3629 §3: 2 bytes U+0080-U+07FF, 3 bytes U+0800-U+FFFF, 4 bytes U+10000-U+10FFFF, never a
// surrogate U+D800-U+DFFF). The first byte for which it cannot is the fail-fast index.
#include <cstddef>
#include <cstdint>
#include <span>

namespace ringcast::test {

struct Utf8Reference {
  size_t invalid_at;  // index of the first invalid byte, or the input size when there is none
  bool complete;      // no error and the input ends between code points
};

inline bool utf8_range_has_scalar(uint32_t lo, uint32_t hi, int len) {
  const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
  const uint32_t max = len == 2 ? 0x7FF : len == 3 ? 0xFFFF : 0x10FFFF;
  if (lo < min) lo = min;
  if (hi > max) hi = max;
  if (lo > hi) return false;
  const bool all_surrogates = lo >= 0xD800 && hi <= 0xDFFF;
  return !all_surrogates;
}

inline Utf8Reference utf8_reference(std::span<const uint8_t> s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    const int len = b >= 0xF8 ? 0 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (len == 0) return {i, false};  // a continuation byte without a lead, or F8..FF
    uint32_t value = b & (0x7F >> len);
    for (int m = 1; m <= len; ++m) {
      if (m > 1) {
        if (i + m - 1 >= n) return {n, false};  // ends mid code point
        const uint8_t c = s[i + m - 1];
        if ((c & 0xC0) != 0x80) return {i + m - 1, false};
        value = value << 6 | (c & 0x3F);
      }
      const int missing_bits = 6 * (len - m);
      const uint32_t lo = value << missing_bits;
      const uint32_t hi = lo | ((uint32_t{1} << missing_bits) - 1);
      if (!utf8_range_has_scalar(lo, hi, len)) return {i + m - 1, false};
    }
    i += len;
  }
  return {n, true};
}

}  // namespace ringcast::test
