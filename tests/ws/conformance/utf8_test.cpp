// Conformance, Autobahn group 6 (UTF-8 handling): RFC 6455 §8.1 and §5.6 — a text message must be
// UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF, no 5- or 6-byte forms);
// one that is not fails the connection with 1007. Fail fast (Autobahn 6.4): the close comes as soon
// as the first byte that no valid text could continue arrives, mid-fragment and mid-frame, before the
// client sends the rest. Where the first invalid byte is, is worked out by the test's own reference
// checker (utf8_reference.hpp), not by ringcast's validator.
#include <doctest/doctest.h>

#include <span>
#include <string_view>

#include "tests/support/utf8_reference.hpp"
#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;
using namespace std::string_view_literals;

namespace {

struct Utf8Case {
  std::string_view name;
  std::string_view bytes;
};

// Valid UTF-8 (Autobahn 6.1-6.2, 6.5-6.7, 6.9, 6.11, 6.22-6.23).
const Utf8Case kValid[] = {
    {"empty", ""sv},
    {"latin and accents", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"sv},
    {"greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"sv},
    {"first of each length: U+0000 U+0080 U+0800 U+10000", "\x00\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80"sv},
    {"last of each length: U+007F U+07FF U+FFFF U+10FFFF", "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf"sv},
    {"around the surrogates: U+D7FF U+E000", "\xed\x9f\xbf\xee\x80\x80"sv},
    {"U+FFFD and the BOM U+FEFF", "\xef\xbf\xbd\xef\xbb\xbf"sv},
    {"noncharacters U+FDD0 U+FFFE U+1FFFE U+10FFFE", "\xef\xb7\x90\xef\xbf\xbe\xf0\x9f\xbf\xbe\xf4\x8f\xbf\xbe"sv},
    {"4-byte sequences: G clef, emoji", "\xf0\x9d\x84\x9e \xf0\x9f\x98\x80 \xf0\xa0\x80\x8b"sv},
    {"long mixed text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 0123456789 \xf0\x9d\x84\x9e \xe2\x82\xac\xe2\x82\xac "
                        "abcdefghijklmnopqrstuvwxyz \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"sv},
};

// Invalid UTF-8 (Autobahn 6.3, 6.4, 6.6, 6.8, 6.10-6.21), most behind valid text so that the bad byte
// is mid-message.
const Utf8Case kInvalid[] = {
    {"surrogate in text (6.3)", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited"sv},
    {"above U+10FFFF after text (6.4)", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80" "edited"sv},
    {"5-byte form", "\xf8\x88\x80\x80\x80"sv},
    {"6-byte form", "\xfc\x84\x80\x80\x80\x80"sv},
    {"U+110000", "\xf4\x90\x80\x80"sv},
    {"U+1FFFFF (4-byte max)", "\xf7\xbf\xbf\xbf"sv},
    {"5-byte max", "\xfb\xbf\xbf\xbf\xbf"sv},
    {"6-byte max", "\xfd\xbf\xbf\xbf\xbf\xbf"sv},
    {"lone continuation 0x80", "\x80"sv},
    {"lone continuation 0xBF", "\xbf"sv},
    {"continuations after ASCII", "ab\x80\xbf\x80\xbf"sv},
    {"every continuation byte", "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f"
                                "\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f"
                                "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf"
                                "\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf"sv},
    {"lonely 2-byte lead and a space", "\xc2 \xc3 "sv},
    {"lonely 3-byte lead and a space", "\xe1 "sv},
    {"lonely 4-byte lead and a space", "\xf1 "sv},
    {"lonely C0 and C1", "\xc0 \xc1 "sv},
    {"lonely F5", "\xf5 "sv},
    {"truncated 2-byte", "\xc2"sv},
    {"truncated 3-byte", "\xe0\xa0"sv},
    {"truncated 4-byte", "\xf0\x90\x80"sv},
    {"truncated 4-byte max", "\xf4\x8f\xbf"sv},
    {"truncated after text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"sv},
    {"truncated overlong forms", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"sv},
    {"truncated max forms", "\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"sv},
    {"truncated sequences concatenated", "\xc2\xe0\xa0\xf0\x90\x80"sv},
    {"impossible 0xFE", "\xfe"sv},
    {"impossible 0xFF", "\xff"sv},
    {"impossible bytes", "\xfe\xfe\xff\xff"sv},
    {"overlong '/' 2-byte", "\xc0\xaf"sv},
    {"overlong '/' 3-byte", "\xe0\x80\xaf"sv},
    {"overlong '/' 4-byte", "\xf0\x80\x80\xaf"sv},
    {"overlong '/' 5-byte", "\xf8\x80\x80\x80\xaf"sv},
    {"overlong '/' 6-byte", "\xfc\x80\x80\x80\x80\xaf"sv},
    {"max overlong 2-byte U+007F", "\xc1\xbf"sv},
    {"max overlong 3-byte U+07FF", "\xe0\x9f\xbf"sv},
    {"max overlong 4-byte U+FFFF", "\xf0\x8f\xbf\xbf"sv},
    {"overlong NUL 2-byte", "\xc0\x80"sv},
    {"overlong NUL 3-byte", "\xe0\x80\x80"sv},
    {"overlong NUL 4-byte", "\xf0\x80\x80\x80"sv},
    {"surrogate U+D800", "\xed\xa0\x80"sv},
    {"surrogate U+DB7F", "\xed\xad\xbf"sv},
    {"surrogate U+DB80", "\xed\xae\x80"sv},
    {"surrogate U+DBFF", "\xed\xaf\xbf"sv},
    {"surrogate U+DC00", "\xed\xb0\x80"sv},
    {"surrogate U+DF80", "\xed\xbe\x80"sv},
    {"surrogate U+DFFF", "\xed\xbf\xbf"sv},
    {"surrogate pair U+D800 U+DC00 (CESU-8)", "\xed\xa0\x80\xed\xb0\x80"sv},
    {"surrogate pair U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf"sv},
    {"valid text then a bad byte far into the message", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                                         "0123456789abcdef\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xc0\xaf"sv},
};

// The index of the first byte at which the text can no longer be valid; its size when only the end
// of the message (mid code point) reveals it.
size_t invalid_at(std::string_view s) {
  return utf8_reference(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())).invalid_at;
}

}  // namespace

TEST_CASE("conformance 6 cases: the reference checker agrees that the valid cases are valid and the invalid ones are not") {
  for (const Utf8Case& v : kValid) {
    CAPTURE(v.name);
    CHECK(utf8_reference(std::span(reinterpret_cast<const uint8_t*>(v.bytes.data()), v.bytes.size())).complete);
  }
  for (const Utf8Case& v : kInvalid) {
    CAPTURE(v.name);
    CHECK_FALSE(utf8_reference(std::span(reinterpret_cast<const uint8_t*>(v.bytes.data()), v.bytes.size())).complete);
  }
}

TEST_SUITE("io") {

TEST_CASE("conformance 6.1-6.2, 6.5-6.23: valid UTF-8 text is echoed, in one frame or one fragment per byte") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    RawWsClient c = open_client(server.port(), d);
    for (const Utf8Case& v : kValid) {
      CAPTURE(d.name());
      CAPTURE(v.name);
      REQUIRE(c.send_text(v.bytes));
      expect_echo(c, op::kText, v.bytes);
      // Every fragment boundary falls mid code point somewhere.
      std::string burst;
      for (size_t i = 0; i < v.bytes.size(); ++i) {
        burst += c.encode({.opcode = i == 0 ? op::kText : op::kContinuation, .payload = v.bytes.substr(i, 1),
                           .fin = i + 1 == v.bytes.size()});
      }
      if (v.bytes.empty()) burst = c.encode({.opcode = op::kText, .payload = "", .fin = true});
      REQUIRE(c.send_raw(burst));
      expect_echo(c, op::kText, v.bytes);
    }
    REQUIRE(c.send_close(1000));
    expect_close_echo(c, 1000);
  }
}

TEST_CASE("conformance 6: invalid UTF-8 in a one-frame text message fails with 1007") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const Utf8Case& v : kInvalid) {
      CAPTURE(d.name());
      CAPTURE(v.name);
      RawWsClient c = open_client(server.port(), d);
      c.send_text(v.bytes);
      expect_fail(c, 1007);
    }
  }
}

TEST_CASE("conformance 6.4: invalid UTF-8 in a fragment fails with 1007 before the rest of the message is sent") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const Utf8Case& v : kInvalid) {
      CAPTURE(d.name());
      CAPTURE(v.name);
      const size_t bad = invalid_at(v.bytes);
      RawWsClient c = open_client(server.port(), d);
      if (bad < v.bytes.size()) {
        // The valid start in one fragment, then a fragment that ends with the first invalid byte; the
        // rest of the message is never sent.
        if (bad > 0) REQUIRE(c.send_text(v.bytes.substr(0, bad), false));
        REQUIRE(c.send_frame({.opcode = bad > 0 ? op::kContinuation : op::kText, .payload = v.bytes.substr(bad, 1),
                              .fin = false}));
        expect_fail(c, 1007);
      } else {
        // Only the end of the message shows it: the text so far is a valid prefix and the connection
        // stays open until the final fragment.
        REQUIRE(c.send_text(v.bytes, false));
        REQUIRE(c.send_ping("valid so far"));
        expect_frame(c, op::kPong, "valid so far");
        REQUIRE(c.send_continuation("", true));
        expect_fail(c, 1007);
      }
    }
  }
}

TEST_CASE("conformance 6.4.3-6.4.4: invalid UTF-8 mid-frame fails with 1007 before the rest of the frame is sent") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const Utf8Case& v : kInvalid) {
      const size_t bad = invalid_at(v.bytes);
      if (bad == v.bytes.size()) continue;  // only the frame's end reveals it (see the case above)
      CAPTURE(d.name());
      CAPTURE(v.name);
      RawWsClient c = open_client(server.port(), d);
      // One frame declares the whole message (and a valid tail), but only the bytes up to the first
      // invalid one are sent.
      const std::string msg = std::string(v.bytes) + " and a tail that never leaves";
      const std::string frame = c.encode({.opcode = op::kText, .payload = msg});
      const size_t header = frame.size() - msg.size();
      REQUIRE(c.send_raw(std::string_view(frame).substr(0, header + bad + 1)));
      expect_fail(c, 1007);
    }
  }
}

TEST_CASE("conformance 6: binary messages are not UTF-8 checked, and each text message is checked from its own start") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    for (const Utf8Case& v : kInvalid) {
      REQUIRE(c.send_binary(v.bytes));
      expect_echo(c, op::kBinary, v.bytes);
    }
    // A binary message that ends mid code point leaves nothing behind for the next text message.
    REQUIRE(c.send_binary("\xe2\x82"sv));
    expect_echo(c, op::kBinary, "\xe2\x82"sv);
    REQUIRE(c.send_text("plain"));
    expect_echo(c, op::kText, "plain");
    // A text message interrupted by a ping mid code point stays one code point.
    REQUIRE(c.send_text("\xe2"sv, false));
    REQUIRE(c.send_ping("\xe2"sv));
    expect_frame(c, op::kPong, "\xe2"sv);
    REQUIRE(c.send_continuation("\x82\xac"sv, true));
    expect_echo(c, op::kText, "\xe2\x82\xac"sv);
  }
}

}  // TEST_SUITE("io")
