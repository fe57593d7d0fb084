#include <ringcast/ws/codec/utf8_validator.hpp>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define RINGCAST_X86 1
#endif

namespace ringcast {
namespace {

// ---------------------------------------------------------------------------------------------------
// The DFA. States are named after what they still expect; RFC 3629 §4's table, byte by byte.
enum DfaState : uint8_t {
  kAcceptS,  // between code points
  kRejectS,  // invalid (absorbing)
  kCont1,    // one more 80..BF
  kCont2,    // two more 80..BF
  kCont3,    // three more 80..BF
  kAfterE0,  // E0: A0..BF then one more (below A0 is overlong)
  kAfterED,  // ED: 80..9F then one more (above 9F is a surrogate)
  kAfterF0,  // F0: 90..BF then two more (below 90 is overlong)
  kAfterF4,  // F4: 80..8F then two more (above 8F is beyond U+10FFFF)
  kStateCount
};

constexpr uint8_t next_state(uint8_t s, uint8_t b) {
  const auto in = [b](int lo, int hi) { return b >= lo && b <= hi; };
  switch (s) {
    case kAcceptS:
      if (b < 0x80) return kAcceptS;
      if (in(0xC2, 0xDF)) return kCont1;
      if (b == 0xE0) return kAfterE0;
      if (b == 0xED) return kAfterED;
      if (in(0xE1, 0xEF)) return kCont2;
      if (b == 0xF0) return kAfterF0;
      if (in(0xF1, 0xF3)) return kCont3;
      if (b == 0xF4) return kAfterF4;
      return kRejectS;  // 80..BF (no lead), C0 C1 (always overlong), F5..FF (beyond U+10FFFF)
    case kCont1: return in(0x80, 0xBF) ? kAcceptS : kRejectS;
    case kCont2: return in(0x80, 0xBF) ? kCont1 : kRejectS;
    case kCont3: return in(0x80, 0xBF) ? kCont2 : kRejectS;
    case kAfterE0: return in(0xA0, 0xBF) ? kCont1 : kRejectS;
    case kAfterED: return in(0x80, 0x9F) ? kCont1 : kRejectS;
    case kAfterF0: return in(0x90, 0xBF) ? kCont2 : kRejectS;
    case kAfterF4: return in(0x80, 0x8F) ? kCont2 : kRejectS;
    default: return kRejectS;
  }
}

// Shift-based DFA: row[b] holds, at bit offset 6*s, the offset 6*next of the state after byte b in
// state s; so a step is `(row[b] >> state) & 63` with the state kept as its bit offset.
constexpr std::array<uint64_t, 256> make_rows() {
  std::array<uint64_t, 256> rows{};
  for (int b = 0; b < 256; ++b) {
    for (uint8_t s = 0; s < kStateCount; ++s) {
      rows[b] |= uint64_t{next_state(s, static_cast<uint8_t>(b)) * 6u} << (s * 6);
    }
  }
  return rows;
}
constexpr std::array<uint64_t, 256> kRows = make_rows();
static_assert(Utf8Validator::kAccept == kAcceptS * 6 && Utf8Validator::kReject == kRejectS * 6);
static_assert(kStateCount * 6 <= 64);

inline uint8_t step(uint8_t state, uint8_t b) noexcept {
  return static_cast<uint8_t>((kRows[b] >> state) & 63);
}

// Skips whole 8-byte words of ASCII from pos (the stream must be between code points).
inline size_t skip_ascii(const uint8_t* d, size_t pos, size_t n) noexcept {
  while (pos + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, d + pos, 8);
    if (w & 0x8080808080808080ull) break;
    pos += 8;
  }
  return pos;
}

// Runs the DFA over d[pos, n). Returns n, or the index of the first invalid byte. Steps 16 bytes
// between checks (the reject state is absorbing) and finds the exact byte again only on an error.
size_t run_dfa(const uint8_t* d, size_t pos, size_t n, uint8_t& state) noexcept {
  while (pos < n) {
    if (state == Utf8Validator::kAccept) {
      pos = skip_ascii(d, pos, n);
      if (pos == n) break;
    }
    const size_t end = n - pos < 16 ? n : pos + 16;
    uint8_t s = state;
    for (size_t i = pos; i < end; ++i) s = step(s, d[i]);
    if (s == Utf8Validator::kReject) {
      for (s = state;; ++pos) {
        s = step(s, d[pos]);
        if (s == Utf8Validator::kReject) break;
      }
      state = s;
      return pos;
    }
    state = s;
    pos = end;
  }
  return n;
}

// Where the code point that contains byte p-1 starts, when d[0, p) is valid but for an incomplete
// last code point: p itself when d[p-1] ends a code point. Looks back at most 3 bytes.
size_t boundary_before(const uint8_t* d, size_t begin, size_t p) noexcept {
  for (size_t j = 1; j <= 3 && j <= p - begin; ++j) {
    const uint8_t b = d[p - j];
    if ((b & 0xC0) != 0x80) {
      const size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      return len > j ? p - j : p;
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Keiser-Lemire lookup algorithm. For each byte and the one before it, three 16-entry tables (indexed
// by the high nibble of the previous byte, its low nibble, and the high nibble of this byte) give bit
// sets of the error classes the pair may belong to; their AND is non-zero only for a real error. The
// rule that the 2nd/3rd byte after a 3/4-byte lead must be a continuation is checked separately.
constexpr uint8_t kTooShort = 1 << 0;    // lead or ASCII, then lead or ASCII where a continuation goes
constexpr uint8_t kTooLong = 1 << 1;     // ASCII, then continuation
constexpr uint8_t kOverlong3 = 1 << 2;   // E0 80..9F
constexpr uint8_t kTooLarge = 1 << 3;    // F4 90..BF, F5..FF 90..BF
constexpr uint8_t kSurrogate = 1 << 4;   // ED A0..BF
constexpr uint8_t kOverlong2 = 1 << 5;   // C0 C1, then continuation
constexpr uint8_t kTooLarge1000 = 1 << 6;  // F5..FF 80..8F
constexpr uint8_t kOverlong4 = 1 << 6;     // F0 80..8F
constexpr uint8_t kTwoConts = 1 << 7;    // continuation, then continuation (fine after a 3/4-byte lead)
constexpr uint8_t kCarry = kTooShort | kTooLong | kTwoConts;  // classes decided by high nibbles alone

alignas(16) constexpr uint8_t kByte1High[16] = {
    kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong, kTooLong,  // 0x0_-0x7_
    kTwoConts, kTwoConts, kTwoConts, kTwoConts,                                      // 0x8_-0xB_
    kTooShort | kOverlong2,                                                          // 0xC_
    kTooShort,                                                                       // 0xD_
    kTooShort | kOverlong3 | kSurrogate,                                             // 0xE_
    kTooShort | kTooLarge | kTooLarge1000 | kOverlong4,                              // 0xF_
};
alignas(16) constexpr uint8_t kByte1Low[16] = {
    kCarry | kOverlong3 | kOverlong2 | kOverlong4,  // _0
    kCarry | kOverlong2,                            // _1
    kCarry,
    kCarry,
    kCarry | kTooLarge,                             // _4
    kCarry | kTooLarge | kTooLarge1000,             // _5
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000 | kSurrogate,  // _D
    kCarry | kTooLarge | kTooLarge1000,
    kCarry | kTooLarge | kTooLarge1000,
};
alignas(16) constexpr uint8_t kByte2High[16] = {
    kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,  // 0x0_-0x7_
    kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4,            // 0x8_
    kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge,                             // 0x9_
    kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,                             // 0xA_
    kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,                             // 0xB_
    kTooShort, kTooShort, kTooShort, kTooShort,                                             // 0xC_-0xF_
};
// A block is "incomplete" when one of its last 3 bytes starts a code point too long to fit: the last
// byte >= C0, the one before >= E0, or the one before that >= F0 (saturating subtract of these).
alignas(32) constexpr uint8_t kIncompleteMax[32] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0xF0 - 1, 0xE0 - 1, 0xC0 - 1,
};

// Checks whole 64-byte blocks of d[0, n) (which starts on a code point boundary). Returns where it
// stopped: the start of the first block with an error (bad = true), or the end of the last whole block.
using BlockKernel = size_t (*)(const uint8_t* d, size_t n, bool& bad) noexcept;

#ifdef RINGCAST_X86
#define RINGCAST_SSSE3 __attribute__((target("ssse3")))
#define RINGCAST_AVX2 __attribute__((target("avx2")))

template <int N>
RINGCAST_SSSE3 inline __m128i prev16(__m128i in, __m128i prev) noexcept {
  return _mm_alignr_epi8(in, prev, 16 - N);
}

RINGCAST_SSSE3 inline __m128i check16(__m128i in, __m128i prev) noexcept {
  const __m128i nib = _mm_set1_epi8(0x0F);
  const __m128i p1 = prev16<1>(in, prev);
  const __m128i b1h = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte1High)),
                                       _mm_and_si128(_mm_srli_epi16(p1, 4), nib));
  const __m128i b1l = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte1Low)),
                                       _mm_and_si128(p1, nib));
  const __m128i b2h = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte2High)),
                                       _mm_and_si128(_mm_srli_epi16(in, 4), nib));
  const __m128i special = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
  // Bit 7 set where the byte must be the 2nd continuation of a 3-byte or 3rd of a 4-byte sequence.
  const __m128i third = _mm_subs_epu8(prev16<2>(in, prev), _mm_set1_epi8(static_cast<char>(0xE0 - 0x80)));
  const __m128i fourth = _mm_subs_epu8(prev16<3>(in, prev), _mm_set1_epi8(static_cast<char>(0xF0 - 0x80)));
  const __m128i must23 = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(static_cast<char>(0x80)));
  return _mm_xor_si128(must23, special);
}

RINGCAST_SSSE3 inline bool all_zero16(__m128i v) noexcept {
  return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) == 0xFFFF;
}

RINGCAST_SSSE3 size_t blocks_ssse3(const uint8_t* d, size_t n, bool& bad) noexcept {
  const __m128i max = _mm_load_si128(reinterpret_cast<const __m128i*>(kIncompleteMax + 16));
  __m128i prev = _mm_setzero_si128();
  __m128i incomplete = _mm_setzero_si128();
  size_t p = 0;
  for (; p + 64 <= n; p += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 32));
    const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 48));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, e))) == 0) {
      if (!all_zero16(incomplete)) break;  // an open code point cannot end in ASCII
      // A run of ASCII: 128 bytes a test while it lasts.
      for (p += 64; p + 128 <= n; p += 128) {
        __m128i any = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
        for (int i = 16; i < 128; i += 16) {
          any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + i)));
        }
        if (_mm_movemask_epi8(any) != 0) break;
      }
      prev = _mm_setzero_si128();
      incomplete = _mm_setzero_si128();
      p -= 64;  // the loop adds it back
      continue;
    }
    const __m128i err = _mm_or_si128(_mm_or_si128(check16(a, prev), check16(b, a)),
                                     _mm_or_si128(check16(c, b), check16(e, c)));
    if (!all_zero16(err)) break;
    prev = e;
    incomplete = _mm_subs_epu8(e, max);
  }
  if (p + 64 <= n) {
    bad = true;
    return p;
  }
  bad = false;
  return p;
}

template <int N>
RINGCAST_AVX2 inline __m256i prev32(__m256i in, __m256i prev) noexcept {
  // [prev.high | in.low] as the left neighbour of each 128-bit lane of `in`.
  return _mm256_alignr_epi8(in, _mm256_permute2x128_si256(prev, in, 0x21), 16 - N);
}

RINGCAST_AVX2 inline __m256i table32(const uint8_t* t) noexcept {
  return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}

RINGCAST_AVX2 inline __m256i check32(__m256i in, __m256i prev) noexcept {
  const __m256i nib = _mm256_set1_epi8(0x0F);
  const __m256i p1 = prev32<1>(in, prev);
  const __m256i b1h = _mm256_shuffle_epi8(table32(kByte1High), _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
  const __m256i b1l = _mm256_shuffle_epi8(table32(kByte1Low), _mm256_and_si256(p1, nib));
  const __m256i b2h = _mm256_shuffle_epi8(table32(kByte2High), _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
  const __m256i special = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
  const __m256i third = _mm256_subs_epu8(prev32<2>(in, prev), _mm256_set1_epi8(static_cast<char>(0xE0 - 0x80)));
  const __m256i fourth = _mm256_subs_epu8(prev32<3>(in, prev), _mm256_set1_epi8(static_cast<char>(0xF0 - 0x80)));
  const __m256i must23 =
      _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_xor_si256(must23, special);
}

RINGCAST_AVX2 size_t blocks_avx2(const uint8_t* d, size_t n, bool& bad) noexcept {
  const __m256i max = _mm256_load_si256(reinterpret_cast<const __m256i*>(kIncompleteMax));
  __m256i prev = _mm256_setzero_si256();
  __m256i incomplete = _mm256_setzero_si256();
  size_t p = 0;
  for (; p + 64 <= n; p += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p + 32));
    if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
      if (!_mm256_testz_si256(incomplete, incomplete)) break;  // an open code point cannot end in ASCII
      // A run of ASCII: 128 bytes a test while it lasts.
      for (p += 64; p + 128 <= n; p += 128) {
        const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p));
        const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p + 32));
        const __m256i c2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p + 64));
        const __m256i c3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d + p + 96));
        if (_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(c0, c1), _mm256_or_si256(c2, c3))) != 0) break;
      }
      prev = _mm256_setzero_si256();
      incomplete = _mm256_setzero_si256();
      p -= 64;  // the loop adds it back
      continue;
    }
    const __m256i err = _mm256_or_si256(check32(a, prev), check32(b, a));
    if (!_mm256_testz_si256(err, err)) break;
    prev = b;
    incomplete = _mm256_subs_epu8(b, max);
  }
  if (p + 64 <= n) {
    bad = true;
    return p;
  }
  bad = false;
  return p;
}
#endif  // RINGCAST_X86

BlockKernel block_kernel(SimdLevel level) noexcept {
#ifdef RINGCAST_X86
  switch (level) {
    case SimdLevel::scalar: return nullptr;
    case SimdLevel::ssse3: return blocks_ssse3;
    case SimdLevel::avx2: return blocks_avx2;
  }
#else
  (void)level;
#endif
  return nullptr;
}

// The last bytes, d[pos, n) with n - pos <= 66, from a code point boundary. Text that is not all ASCII
// goes through one or two vector blocks over a zero-padded copy: the zeros after the data make an
// unfinished code point an error, so a clean check means valid and complete. Anything else (an error,
// or a code point that continues in the next call) is settled by the DFA.
size_t finish_tail(BlockKernel blocks, uint8_t& state, const uint8_t* d, size_t pos, size_t n) noexcept {
  pos = skip_ascii(d, pos, n);
  const size_t left = n - pos;
  if (blocks != nullptr && left >= 16 && left <= 125) {
    alignas(32) uint8_t padded[128] = {};
    std::memcpy(padded, d + pos, left);
    bool bad = false;
    blocks(padded, left + 3 <= 64 ? 64 : 128, bad);
    if (!bad) return n;
  }
  return run_dfa(d, pos, n, state);
}

size_t feed_impl(BlockKernel blocks, uint8_t& state, const uint8_t* d, size_t n) noexcept {
  if (state == Utf8Validator::kReject) return 0;
  size_t pos = 0;
  // First the code point left open by the previous call.
  while (state != Utf8Validator::kAccept && pos < n) {
    state = step(state, d[pos]);
    if (state == Utf8Validator::kReject) return pos;
    ++pos;
  }
  if (blocks != nullptr && n - pos >= 64) {
    // Whole blocks are checked as a whole. The code point open at their end and the tail go to
    // finish_tail; a block that failed goes to the DFA, which finds the exact byte.
    bool bad = false;
    const size_t stop = pos + blocks(d + pos, n - pos, bad);
    const size_t from = boundary_before(d, pos, stop);
    return bad ? run_dfa(d, from, n, state) : finish_tail(blocks, state, d, from, n);
  }
  return finish_tail(blocks, state, d, pos, n);
}

BlockKernel default_kernel() noexcept {
  static const BlockKernel kernel = block_kernel(simd_level());
  return kernel;
}

}  // namespace

size_t Utf8Validator::feed(std::span<const uint8_t> data) noexcept {
  return feed_impl(default_kernel(), state_, data.data(), data.size());
}

bool utf8_valid(std::span<const uint8_t> data) noexcept {
  uint8_t state = Utf8Validator::kAccept;
  return feed_impl(default_kernel(), state, data.data(), data.size()) == data.size() &&
         state == Utf8Validator::kAccept;
}

std::string_view utf8_truncate(std::string_view s, size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  // s[cut] is the first byte left out: step back while it continues the code point before it.
  while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

namespace detail {
size_t utf8_feed_with(SimdLevel level, uint8_t& state, const uint8_t* data, size_t len) noexcept {
  return feed_impl(block_kernel(level), state, data, len);
}
}  // namespace detail

}  // namespace ringcast
