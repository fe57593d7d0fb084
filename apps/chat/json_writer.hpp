#pragma once
// JsonWriter: appends compact JSON (RFC 8259) to a caller's std::string — objects, arrays, strings,
// integers, booleans, and pieces of JSON built earlier (raw()). Commas and colons are placed for the
// caller; nesting is tracked in a 64-bit stack, so documents nest at most 64 deep (enough for a chat
// protocol; deeper is a bug of ours, caught by an assert).
//
//   std::string out;
//   JsonWriter w(out);
//   w.begin_object().key("type").value("error").key("payload").begin_object()
//    .key("message").value("unknown type").end_object().end_object();
//   // out == {"type":"error","payload":{"message":"unknown type"}}
//
// Strings are escaped per RFC 8259 §7: '"', '\\' and every control character U+0000..U+001F (as \b
// \f \n \r \t or \u00XX). Other characters are copied as UTF-8. A string that is not valid UTF-8 has
// each invalid byte replaced with U+FFFD, so the output is always valid UTF-8 and always a valid
// WebSocket text message (RFC 6455 §8.1), whatever the input.
//
// Cost: appends into `out`, which grows only when its capacity is too small — reuse one string per
// shard and writing a message allocates nothing. Not thread-safe; one writer per thread.
#include <cassert>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast::chat {

// Appends `s` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) noexcept : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // An object member's name; the next call writes its value.
  JsonWriter& key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(uint64_t n) { return number(n); }
  JsonWriter& value(int64_t n) { return number(n); }
  JsonWriter& value(int n) { return number(n); }
  JsonWriter& value(unsigned n) { return number(n); }
  JsonWriter& value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& null() {
    separate();
    out_ += "null";
    return *this;
  }
  // A value that is already JSON (written by another JsonWriter), copied as it is.
  JsonWriter& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }

  // True when every object and array opened has been closed.
  bool complete() const noexcept { return depth_ == 0; }

 private:
  template <typename T>
  JsonWriter& number(T n) {
    separate();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, static_cast<size_t>(r.ptr - buf));
    return *this;
  }

  // Writes the comma before a value or a key, unless it is the first in its container or follows a key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    const uint64_t bit = uint64_t{1} << (depth_ - 1);
    if (has_items_ & bit) out_ += ',';
    has_items_ |= bit;
  }

  JsonWriter& open(char c) {
    separate();
    assert(depth_ < 64 && "JsonWriter: nested too deep");
    out_ += c;
    ++depth_;
    has_items_ &= ~(uint64_t{1} << (depth_ - 1));
    return *this;
  }

  JsonWriter& close(char c) {
    assert(depth_ > 0 && !after_key_ && "JsonWriter: unbalanced end");
    --depth_;
    out_ += c;
    return *this;
  }

  std::string& out_;
  uint64_t has_items_ = 0;  // bit d: the container at depth d+1 has at least one item
  unsigned depth_ = 0;
  bool after_key_ = false;
};

namespace detail {

inline void append_json_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(u, sizeof u);
    }
  }
}

inline bool needs_escape(unsigned char c) noexcept { return c < 0x20 || c == '"' || c == '\\'; }

// Escapes valid UTF-8: runs of bytes that need nothing are appended in one piece.
inline void append_escaped_valid(std::string& out, std::string_view s) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    append_json_escape(out, c);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
inline size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return n;
}

}  // namespace detail

inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  if (utf8_valid(s)) {
    detail::append_escaped_valid(out, s);
  } else {
    // Rare (our inputs are validated text): each byte that starts no well-formed sequence becomes U+FFFD.
    for (size_t i = 0; i < s.size();) {
      const size_t n = detail::utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        detail::append_escaped_valid(out, s.substr(i, n));
        i += n;
      }
    }
  }
  out += '"';
}

}  // namespace ringcast::chat
