#include <ringcast/ws/codec/utf8_validator.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/utf8_reference.hpp"

using namespace ringcast;
using test::utf8_reference;

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<SimdLevel> supported_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::scalar, SimdLevel::ssse3, SimdLevel::avx2}) {
    if (simd_level_supported(l)) out.push_back(l);
  }
  return out;
}

struct Outcome {
  size_t invalid_at = kNone;  // index in the whole input
  bool finished = false;      // what finish() said at the end (false after an error)
  bool operator==(const Outcome&) const = default;
};

// Feeds `s` in pieces of the given sizes (the last piece takes the rest) with one kernel.
Outcome feed_pieces(SimdLevel level, std::string_view s, const std::vector<size_t>& sizes) {
  uint8_t state = Utf8Validator::kAccept;
  size_t pos = 0;
  size_t k = 0;
  while (pos < s.size()) {
    size_t len = k < sizes.size() ? sizes[k++] : s.size() - pos;
    if (len > s.size() - pos) len = s.size() - pos;
    const size_t r = detail::utf8_feed_with(level, state, reinterpret_cast<const uint8_t*>(s.data()) + pos, len);
    if (r != len) return {pos + r, false};
    pos += len;
  }
  return {kNone, state == Utf8Validator::kAccept};
}

Outcome reference_outcome(std::string_view s) {
  const auto r = utf8_reference(bytes(s));
  return {r.invalid_at == s.size() ? kNone : r.invalid_at, r.complete};
}

std::vector<size_t> random_pieces(std::mt19937& rng, size_t total) {
  std::vector<size_t> sizes;
  size_t left = total;
  while (left > 0) {
    const size_t cap = left < 80 ? left : 80;
    const size_t len = std::uniform_int_distribution<size_t>(1, cap)(rng);
    sizes.push_back(len);
    left -= len;
  }
  return sizes;
}

// Every kernel, the input whole, byte by byte, and at random split points: all give `expected`.
void check_all_ways(std::string_view s, Outcome expected) {
  std::mt19937 rng(static_cast<uint32_t>(s.size() * 7919 + 17));
  for (SimdLevel level : supported_levels()) {
    CAPTURE(to_string(level));
    CHECK(feed_pieces(level, s, {s.size()}) == expected);
    CHECK(feed_pieces(level, s, std::vector<size_t>(s.size(), 1)) == expected);
    for (int round = 0; round < 8; ++round) CHECK(feed_pieces(level, s, random_pieces(rng, s.size())) == expected);
  }
}

struct Case {
  const char* name;
  std::string data;
  size_t invalid_at;  // kNone: no invalid byte
  bool complete;      // ends on a code point boundary (when valid)
};

Case valid(const char* name, std::string d) { return {name, std::move(d), kNone, true}; }
Case incomplete(const char* name, std::string d) { return {name, std::move(d), kNone, false}; }
Case invalid(const char* name, std::string d, size_t at) { return {name, std::move(d), at, false}; }

// Autobahn|Testsuite case 6 (after Markus Kuhn's UTF-8 decoder stress test), with the index of the byte
// at which each invalid payload must be rejected.
std::vector<Case> autobahn_case6() {
  const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // κόσμε, 11 bytes
  std::vector<Case> c = {
      valid("6.1 empty", ""),
      valid("6.2 Hello-µ@ßöäüàá-UTF-8!!", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"),
      valid("6.2.4 kosme", kosme),
      invalid("6.3.1 surrogate after kosme", kosme + "\xed\xa0\x80" + "edited", 12),
      invalid("6.4 beyond U+10FFFF after kosme", kosme + "\xf4\x90\x80\x80" + "edited", 12),
      valid("6.5 kosme twice", kosme + kosme),
      incomplete("6.6.1", kosme.substr(0, 1)),
      valid("6.6.2", kosme.substr(0, 2)),
      incomplete("6.6.3", kosme.substr(0, 3)),
      incomplete("6.6.4", kosme.substr(0, 4)),
      valid("6.6.5", kosme.substr(0, 5)),
      incomplete("6.6.6", kosme.substr(0, 6)),
      valid("6.6.7", kosme.substr(0, 7)),
      incomplete("6.6.8", kosme.substr(0, 8)),
      valid("6.6.9", kosme.substr(0, 9)),
      incomplete("6.6.10", kosme.substr(0, 10)),
      valid("6.6.11", kosme),
      valid("6.7.1 U+0000", std::string("\x00", 1)),
      valid("6.7.2 U+0080", "\xc2\x80"),
      valid("6.7.3 U+0800", "\xe0\xa0\x80"),
      valid("6.7.4 U+10000", "\xf0\x90\x80\x80"),
      invalid("6.8.1 5-byte first", "\xf8\x88\x80\x80\x80", 0),
      invalid("6.8.2 6-byte first", "\xfc\x84\x80\x80\x80\x80", 0),
      valid("6.9.1 U+007F", "\x7f"),
      valid("6.9.2 U+07FF", "\xdf\xbf"),
      valid("6.9.3 U+FFFF", "\xef\xbf\xbf"),
      valid("6.9.4 U+10FFFF", "\xf4\x8f\xbf\xbf"),
      invalid("6.10.1 U+1FFFFF", "\xf7\xbf\xbf\xbf", 0),
      invalid("6.10.2 5-byte last", "\xfb\xbf\xbf\xbf\xbf", 0),
      invalid("6.10.3 6-byte last", "\xfd\xbf\xbf\xbf\xbf\xbf", 0),
      valid("6.11.1 U+D7FF", "\xed\x9f\xbf"),
      valid("6.11.2 U+E000", "\xee\x80\x80"),
      valid("6.11.3 U+FFFD", "\xef\xbf\xbd"),
      valid("6.11.4 U+10FFFF", "\xf4\x8f\xbf\xbf"),
      invalid("6.11.5 U+110000", "\xf4\x90\x80\x80", 1),
      invalid("6.12.1", "\x80", 0),
      invalid("6.12.2", "\xbf", 0),
      invalid("6.12.3", "\x80\xbf", 0),
      invalid("6.12.4", "\x80\xbf\x80", 0),
      invalid("6.12.5", "\x80\xbf\x80\xbf", 0),
      invalid("6.12.6", "\x80\xbf\x80\xbf\x80", 0),
      invalid("6.12.7", "\x80\xbf\x80\xbf\x80\xbf", 0),
      invalid("6.14.1", "\xc0", 0),
      invalid("6.14.2", "\xe0\x80", 1),
      invalid("6.14.3", "\xf0\x80\x80", 1),
      invalid("6.14.4", "\xf8\x80\x80\x80", 0),
      invalid("6.14.5", "\xfc\x80\x80\x80\x80", 0),
      incomplete("6.14.6", "\xdf"),
      incomplete("6.14.7", "\xef\xbf"),
      invalid("6.14.8", "\xf7\xbf\xbf", 0),
      invalid("6.14.9", "\xfb\xbf\xbf\xbf", 0),
      invalid("6.14.10", "\xfd\xbf\xbf\xbf\xbf", 0),
      invalid("6.15.1 concatenated incomplete sequences",
              "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd"
              "\xbf\xbf\xbf\xbf",
              0),
      invalid("6.16.1", "\xfe", 0),
      invalid("6.16.2", "\xff", 0),
      invalid("6.16.3", "\xfe\xfe\xff\xff", 0),
      invalid("6.17.1 overlong /", "\xc0\xaf", 0),
      invalid("6.17.2 overlong /", "\xe0\x80\xaf", 1),
      invalid("6.17.3 overlong /", "\xf0\x80\x80\xaf", 1),
      invalid("6.17.4 overlong /", "\xf8\x80\x80\x80\xaf", 0),
      invalid("6.17.5 overlong /", "\xfc\x80\x80\x80\x80\xaf", 0),
      invalid("6.18.1 max overlong", "\xc1\xbf", 0),
      invalid("6.18.2 max overlong", "\xe0\x9f\xbf", 1),
      invalid("6.18.3 max overlong", "\xf0\x8f\xbf\xbf", 1),
      invalid("6.18.4 max overlong", "\xf8\x87\xbf\xbf\xbf", 0),
      invalid("6.18.5 max overlong", "\xfc\x83\xbf\xbf\xbf\xbf", 0),
      invalid("6.19.1 overlong NUL", "\xc0\x80", 0),
      invalid("6.19.2 overlong NUL", "\xe0\x80\x80", 1),
      invalid("6.19.3 overlong NUL", "\xf0\x80\x80\x80", 1),
      invalid("6.19.4 overlong NUL", "\xf8\x80\x80\x80\x80", 0),
      invalid("6.19.5 overlong NUL", "\xfc\x80\x80\x80\x80\x80", 0),
      invalid("6.20.1 U+D800", "\xed\xa0\x80", 1),
      invalid("6.20.2 U+DB7F", "\xed\xad\xbf", 1),
      invalid("6.20.3 U+DB80", "\xed\xae\x80", 1),
      invalid("6.20.4 U+DBFF", "\xed\xaf\xbf", 1),
      invalid("6.20.5 U+DC00", "\xed\xb0\x80", 1),
      invalid("6.20.6 U+DF80", "\xed\xbe\x80", 1),
      invalid("6.20.7 U+DFFF", "\xed\xbf\xbf", 1),
      invalid("6.21.1 paired surrogates", "\xed\xa0\x80\xed\xb0\x80", 1),
      invalid("6.21.2 paired surrogates", "\xed\xa0\x80\xed\xbf\xbf", 1),
      invalid("6.21.3 paired surrogates", "\xed\xad\xbf\xed\xb0\x80", 1),
      invalid("6.21.4 paired surrogates", "\xed\xad\xbf\xed\xbf\xbf", 1),
      invalid("6.21.5 paired surrogates", "\xed\xae\x80\xed\xb0\x80", 1),
      invalid("6.21.6 paired surrogates", "\xed\xae\x80\xed\xbf\xbf", 1),
      invalid("6.21.7 paired surrogates", "\xed\xaf\xbf\xed\xb0\x80", 1),
      invalid("6.21.8 paired surrogates", "\xed\xaf\xbf\xed\xbf\xbf", 1),
      valid("6.22.1 U+FFFE", "\xef\xbf\xbe"),
      valid("6.22.2 U+FFFF", "\xef\xbf\xbf"),
      valid("6.23 specials U+FFF9-U+FFFD", "\xef\xbf\xb9\xef\xbf\xba\xef\xbf\xbb\xef\xbf\xbc\xef\xbf\xbd"),
  };
  // 6.12.8: all 64 continuation bytes; 6.13: lonely start bytes each followed by a space.
  std::string conts;
  for (int b = 0x80; b <= 0xBF; ++b) conts += static_cast<char>(b);
  c.push_back(invalid("6.12.8 all continuation bytes", conts, 0));
  const auto lonely = [](int from, int to) {
    std::string s;
    for (int b = from; b <= to; ++b) s += {static_cast<char>(b), ' '};
    return s;
  };
  c.push_back(invalid("6.13.1 lonely C0-DF", lonely(0xC0, 0xDF), 0));  // C0 can start nothing
  c.push_back(invalid("6.13.2 lonely E0-EF", lonely(0xE0, 0xEF), 1));  // the space after E0
  c.push_back(invalid("6.13.3 lonely F0-F7", lonely(0xF0, 0xF7), 1));
  c.push_back(invalid("6.13.4 lonely F8-FB", lonely(0xF8, 0xFB), 0));
  c.push_back(invalid("6.13.5 lonely FC-FD", lonely(0xFC, 0xFD), 0));
  // 6.22.3-34: the two last code points of planes 1 to 16 (noncharacters, yet valid UTF-8).
  const char* planes[] = {"\xf0\x9f", "\xf0\xaf", "\xf0\xbf", "\xf1\x8f", "\xf1\x9f", "\xf1\xaf",
                          "\xf1\xbf", "\xf2\x8f", "\xf2\x9f", "\xf2\xaf", "\xf2\xbf", "\xf3\x8f",
                          "\xf3\x9f", "\xf3\xaf", "\xf3\xbf", "\xf4\x8f"};
  for (const char* p : planes) {
    c.push_back(valid("6.22 noncharacter U+xFFFE", std::string(p) + "\xbf\xbe"));
    c.push_back(valid("6.22 noncharacter U+xFFFF", std::string(p) + "\xbf\xbf"));
  }
  return c;
}

// Valid text of every sequence length: ASCII, Latin, Greek, CJK, emoji.
const std::string kMixed =
    "Grüße, κόσμε! 你好，世界。 \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 naïve café — "
    "日本語のテキスト \xf0\x9f\x9a\x80 end.";

}  // namespace

TEST_CASE("the Autobahn case 6 corpus fails at the exact byte, whole, byte by byte and split") {
  for (const Case& c : autobahn_case6()) {
    CAPTURE(c.name);
    const Outcome expected{c.invalid_at, c.invalid_at == kNone && c.complete};
    // The reference checker agrees with the hand-written expectation.
    CHECK(reference_outcome(c.data) == expected);
    check_all_ways(c.data, expected);
  }
}

TEST_CASE("the Autobahn corpus inside long text fails at the same byte on every kernel") {
  // Long runs of ASCII and of multi-byte text before and after the case put it at every position of
  // the 64-byte blocks the vector kernels check, and make them run at all.
  std::string ascii_prefix(150, 'a');
  std::string mixed_prefix;
  while (mixed_prefix.size() < 190) mixed_prefix += kMixed;
  for (const Case& c : autobahn_case6()) {
    CAPTURE(c.name);
    for (const std::string& prefix : {ascii_prefix, mixed_prefix}) {
      for (size_t shift = 0; shift < 70; shift += 3) {
        const std::string_view pre_view = utf8_truncate(prefix, prefix.size() - shift);
        std::string s = std::string(pre_view) + c.data + mixed_prefix;
        Outcome expected;
        if (c.invalid_at != kNone) {
          expected = {pre_view.size() + c.invalid_at, false};
        } else if (!c.complete) {
          // An incomplete sequence followed by more text fails at the first byte that does not continue it.
          expected = reference_outcome(s);
          CHECK(expected.invalid_at >= pre_view.size() + c.data.size());
        } else {
          expected = {kNone, true};
        }
        CHECK(reference_outcome(s) == expected);
        for (SimdLevel level : supported_levels()) {
          CAPTURE(to_string(level));
          CHECK(feed_pieces(level, s, {s.size()}) == expected);
        }
      }
    }
  }
}

TEST_CASE("every 1, 2 and 3 byte sequence is judged as the reference does") {
  std::string s;
  for (int a = 0; a < 256; ++a) {
    s.assign(1, static_cast<char>(a));
    CHECK(feed_pieces(SimdLevel::scalar, s, {1}) == reference_outcome(s));
  }
  size_t mismatches = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
      if (!(feed_pieces(SimdLevel::scalar, {two, 2}, {2}) == reference_outcome({two, 2}))) ++mismatches;
      for (int c = 0x60; c < 256; c += (c >= 0x7E && c < 0xC2) ? 1 : 31) {
        const char three[3] = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        if (!(feed_pieces(SimdLevel::scalar, {three, 3}, {1, 2}) == reference_outcome({three, 3}))) ++mismatches;
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("every 4 byte sequence from a lead F0-F7 with boundary continuations matches the reference") {
  const int conts[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  size_t mismatches = 0;
  for (int a = 0xE0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : conts) {
        for (int d : conts) {
          const char four[4] = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)};
          if (!(feed_pieces(SimdLevel::scalar, {four, 4}, {4}) == reference_outcome({four, 4}))) ++mismatches;
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("every kernel finds a corrupted byte at every position of long text as the reference does") {
  std::string text;
  while (text.size() < 400) text += kMixed;
  std::mt19937 rng(42);
  const uint8_t corruptions[] = {0x80, 0xBF, 0xC0, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0x20};
  size_t cases = 0;
  for (size_t pos = 0; pos < 260; ++pos) {
    for (uint8_t bad : corruptions) {
      std::string s = text;
      s[pos] = static_cast<char>(bad);
      const Outcome expected = reference_outcome(s);
      for (SimdLevel level : supported_levels()) {
        CAPTURE(pos);
        CAPTURE(int(bad));
        CAPTURE(to_string(level));
        REQUIRE(feed_pieces(level, s, {s.size()}) == expected);
        REQUIRE(feed_pieces(level, s, random_pieces(rng, s.size())) == expected);
      }
      ++cases;
    }
  }
  CHECK(cases == 260 * std::size(corruptions));
}

TEST_CASE("every kernel finds a bad byte anywhere in long ASCII runs, and a code point left open before one") {
  // ASCII runs take a faster path in the vector kernels (128 bytes a test); errors inside and right
  // after them, and a multi-byte sequence cut short by them, are found at the exact byte.
  std::mt19937 rng(9);
  const std::string run(700, 'x');
  for (size_t pos = 0; pos < run.size(); ++pos) {
    for (const char* bad : {"\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xff"}) {
      std::string s = run;
      s.replace(pos, std::strlen(bad), bad);
      const Outcome expected = reference_outcome(s);
      // Invalid, or (a sequence cut off by the end of the input) unfinished.
      CHECK((expected.invalid_at != kNone || pos + std::strlen(bad) == s.size()));
      CHECK_FALSE(expected.finished);
      for (SimdLevel level : supported_levels()) {
        CAPTURE(pos);
        CAPTURE(to_string(level));
        REQUIRE(feed_pieces(level, s, {s.size()}) == expected);
        REQUIRE(feed_pieces(level, s, random_pieces(rng, s.size())) == expected);
      }
    }
  }
  // Valid multi-byte text between long ASCII runs is accepted.
  const std::string mixed = run + kMixed + run + "\xf0\x9f\x98\x80" + run;
  for (SimdLevel level : supported_levels()) CHECK(feed_pieces(level, mixed, {mixed.size()}) == Outcome{kNone, true});
}

TEST_CASE("every kernel agrees with the reference on random mutations of random code points") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> plane(0, 3);
  const auto random_text = [&](size_t code_points) {
    std::string s;
    for (size_t i = 0; i < code_points; ++i) {
      uint32_t cp;
      switch (plane(rng)) {
        case 0: cp = std::uniform_int_distribution<uint32_t>(0, 0x7F)(rng); break;
        case 1: cp = std::uniform_int_distribution<uint32_t>(0x80, 0x7FF)(rng); break;
        case 2:
          do cp = std::uniform_int_distribution<uint32_t>(0x800, 0xFFFF)(rng);
          while (cp >= 0xD800 && cp <= 0xDFFF);
          break;
        default: cp = std::uniform_int_distribution<uint32_t>(0x10000, 0x10FFFF)(rng); break;
      }
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else if (cp < 0x800) {
        s += {static_cast<char>(0xC0 | cp >> 6), static_cast<char>(0x80 | (cp & 0x3F))};
      } else if (cp < 0x10000) {
        s += {static_cast<char>(0xE0 | cp >> 12), static_cast<char>(0x80 | (cp >> 6 & 0x3F)),
              static_cast<char>(0x80 | (cp & 0x3F))};
      } else {
        s += {static_cast<char>(0xF0 | cp >> 18), static_cast<char>(0x80 | (cp >> 12 & 0x3F)),
              static_cast<char>(0x80 | (cp >> 6 & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
      }
    }
    return s;
  };
  size_t valid_inputs = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string s = random_text(std::uniform_int_distribution<size_t>(0, 120)(rng));
    if (!s.empty() && round % 3 != 0) {
      const int flips = std::uniform_int_distribution<int>(1, 3)(rng);
      for (int f = 0; f < flips; ++f) {
        s[std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng)] =
            static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      }
    }
    const Outcome expected = reference_outcome(s);
    if (expected.finished) ++valid_inputs;
    for (SimdLevel level : supported_levels()) {
      CAPTURE(s);
      CAPTURE(to_string(level));
      REQUIRE(feed_pieces(level, s, {s.size()}) == expected);
      REQUIRE(feed_pieces(level, s, random_pieces(rng, s.size())) == expected);
    }
  }
  CHECK(valid_inputs >= 1000);  // the unmutated third, at least
}

TEST_CASE("a failed validator stays failed until finish or reset") {
  Utf8Validator v;
  CHECK(v.feed(std::string_view("ab\xc0z")) == 2);
  CHECK(v.failed());
  CHECK(v.feed(std::string_view("abc")) == 0);
  CHECK_FALSE(v.finish());
  CHECK_FALSE(v.failed());
  CHECK(v.feed(std::string_view("abc")) == 3);
  CHECK(v.finish());
  CHECK(v.feed(std::string_view("\xe2\x82")) == 2);
  CHECK_FALSE(v.at_boundary());
  v.reset();
  CHECK(v.at_boundary());
  CHECK(v.feed(std::string_view("\xac")) == 0);  // a continuation byte after reset has no lead
}

TEST_CASE("a code point split across calls is carried in the validator's state") {
  Utf8Validator v;
  const std::string euro = "\xe2\x82\xac";  // U+20AC
  CHECK(v.feed(std::string_view(euro).substr(0, 1)) == 1);
  CHECK_FALSE(v.at_boundary());
  CHECK(v.feed(std::string_view(euro).substr(1, 1)) == 1);
  CHECK(v.feed(std::string_view(euro).substr(2, 1)) == 1);
  CHECK(v.at_boundary());
  CHECK(v.finish());
  // The open code point ends at the first byte of the next call.
  CHECK(v.feed(std::string_view("\xf0\x9f")) == 2);
  CHECK(v.feed(std::string_view("\x41")) == 0);
}

TEST_CASE("utf8_valid judges whole messages") {
  CHECK(utf8_valid(std::string_view("")));
  CHECK(utf8_valid(kMixed));
  CHECK_FALSE(utf8_valid(std::string_view("\xe2\x82")));
  CHECK_FALSE(utf8_valid(kMixed + "\xed\xa0\x80"));
  std::string big(1 << 20, 'x');
  CHECK(utf8_valid(big));
  big[big.size() - 1] = static_cast<char>(0xC3);
  CHECK_FALSE(utf8_valid(big));
}

TEST_CASE("utf8_truncate cuts before a code point that does not fit") {
  CHECK(utf8_truncate("hello", 10) == "hello");
  CHECK(utf8_truncate("hello", 3) == "hel");
  const std::string s = "ab\xe2\x82\xac";  // "ab€"
  CHECK(utf8_truncate(s, 5) == s);
  CHECK(utf8_truncate(s, 4) == "ab");
  CHECK(utf8_truncate(s, 3) == "ab");
  CHECK(utf8_truncate(s, 2) == "ab");
  CHECK(utf8_truncate("\xf0\x9f\x98\x80", 3).empty());
  CHECK(utf8_truncate("", 0).empty());
}
