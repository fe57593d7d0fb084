#include <ringcast/ws/codec/display_name.hpp>

#include <cstdint>

#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast {
namespace {

// The code point at s[i] of valid UTF-8, and its length.
uint32_t decode(std::string_view s, size_t i, size_t& len) noexcept {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  if (b(0) < 0x80) {
    len = 1;
    return b(0);
  }
  if (b(0) < 0xE0) {
    len = 2;
    return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
  }
  if (b(0) < 0xF0) {
    len = 3;
    return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
  }
  len = 4;
  return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
}

bool shown_as_is(uint32_t cp) noexcept {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;  // Cc
  if (cp == 0x2028 || cp == 0x2029) return false;              // line and paragraph separators
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F) return false;  // Bidi_Control: marks
  if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false;  // embeddings, overrides, isolates
  return true;
}

}  // namespace

bool valid_display_name(std::string_view name, size_t max_code_points) noexcept {
  if (name.empty() || !utf8_valid(name)) return false;
  size_t count = 0;
  for (size_t i = 0; i < name.size();) {
    size_t len = 0;
    const uint32_t cp = decode(name, i, len);
    i += len;
    if (++count > max_code_points || !shown_as_is(cp)) return false;
  }
  return true;
}

}  // namespace ringcast
