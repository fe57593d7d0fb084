#pragma once
// Incremental UTF-8 validation (RFC 3629 §3-4, as RFC 6455 §8.1 requires of text messages and close
// reasons): no overlong forms, no surrogates U+D800-U+DFFF, nothing above U+10FFFF. A message may be
// split anywhere, mid code point, across frames and recv buffers; the validator carries the partial
// code point between calls in one byte of state.
//
// Fail fast: feed() reports the index of the first byte that no valid continuation could follow, so
// a session can close with 1007 the moment an invalid byte arrives, mid-fragment, without waiting for
// the end of the message (Autobahn 6.4). Examples: "\xC0" fails at the C0 (no code point starts with
// it), "\xE0\x80" at the 80 (overlong), "\xED\xA0" at the A0 (surrogate), "\xF4\x90" at the 90.
//
// Speed: 64-byte blocks go through the Keiser-Lemire lookup algorithm ("Validating UTF-8 in less than
// one instruction per byte", 2021) in SSSE3 or AVX2 (runtime dispatch), ASCII runs 128 bytes a test;
// the last bytes of a call (and short messages) through one vector block over a zero-padded copy. A
// table-driven DFA (shift-based rows, one load and one shift per byte) carries a code point across
// calls and, when a block reports a problem, finds the exact byte; without SSSE3 it does everything.
//
// One validator per message stream (per connection); not thread-safe, owned by whoever owns the
// connection. sizeof == 1.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <ringcast/ws/codec/detail/simd_level.hpp>

namespace ringcast {

class Utf8Validator {
 public:
  // Validates the next bytes of the stream. Returns data.size() when every byte keeps the stream a
  // valid prefix of UTF-8 (possibly ending mid code point), else the index in `data` of the first
  // invalid byte; the validator then stays failed (further calls return 0) until reset()/finish().
  size_t feed(std::span<const uint8_t> data) noexcept;
  size_t feed(std::string_view data) noexcept {
    return feed(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }

  // The message ended: true when it was valid and ended on a code point boundary. Resets the
  // validator for the next message.
  bool finish() noexcept {
    const bool ok = state_ == kAccept;
    state_ = kAccept;
    return ok;
  }

  // Valid so far and between code points (finish() would return true).
  bool at_boundary() const noexcept { return state_ == kAccept; }
  bool failed() const noexcept { return state_ == kReject; }
  void reset() noexcept { state_ = kAccept; }

  // DFA states are bit offsets into 64-bit transition rows (multiples of 6); these two are public so
  // the implementation's free functions can share them.
  static constexpr uint8_t kAccept = 0;
  static constexpr uint8_t kReject = 6;

 private:
  uint8_t state_ = kAccept;
};
static_assert(sizeof(Utf8Validator) == 1);

// A whole message at once.
bool utf8_valid(std::span<const uint8_t> data) noexcept;
inline bool utf8_valid(std::string_view data) noexcept {
  return utf8_valid(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

// The longest prefix of `s` of at most `max_bytes` bytes that does not cut a code point in two (for
// truncating a close reason to the 123 bytes a close frame has room for).
std::string_view utf8_truncate(std::string_view s, size_t max_bytes) noexcept;

namespace detail {
// Validator step with an explicit kernel (tests compare kernels; `level` must be supported).
size_t utf8_feed_with(SimdLevel level, uint8_t& state, const uint8_t* data, size_t len) noexcept;
}  // namespace detail

}  // namespace ringcast
