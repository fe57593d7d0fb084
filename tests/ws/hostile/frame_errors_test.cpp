// Hostile input, frame errors: headers that servers have mishandled — a 64-bit length with its top bit
// set (an allocation that wrapped), a length past any limit, a header cut short and then silence (a
// read that hung), RSV bits without an extension, an unmasked client frame (whose payload once reached
// the application before the error), reserved opcodes, fragmented or oversized control frames, a
// continuation with nothing to continue. Each fails with its close code from the header alone, and no
// application callback runs for it — not even for a valid fragment that came before it.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

// Where a bad frame is sent: on its own, after the start of a fragmented message, or both ways.
enum class When : uint8_t { alone, in_message, both };

struct BadFrame {
  const char* what;
  FrameSpec frame;
  int code;
  When when;
};

const std::string& bytes_126() {
  static const std::string s(126, 'x');  // RFC 6455 §5.5: control frames carry at most 125 bytes
  return s;
}

std::vector<BadFrame> bad_frames() {
  constexpr uint64_t kTopBit = uint64_t{1} << 63;
  std::vector<BadFrame> cases = {
      {"a 64-bit length with its top bit set", {.opcode = op::kBinary, .length_form = 8, .declared = kTopBit | 5}, 1002, When::both},
      {"a 64-bit length of 2^63 - 1", {.opcode = op::kBinary, .length_form = 8, .declared = ~kTopBit}, 1009, When::alone},
      {"a continuation of 2^63 - 1", {.opcode = op::kContinuation, .length_form = 8, .declared = ~kTopBit}, 1009, When::in_message},
      {"a length of 1 TiB, past the limit", {.opcode = op::kBinary, .declared = uint64_t{1} << 40}, 1009, When::alone},
      {"a continuation of 1 TiB", {.opcode = op::kContinuation, .declared = uint64_t{1} << 40}, 1009, When::in_message},
      {"RSV1 without an extension", {.opcode = op::kText, .payload = "hi", .rsv = kRsv1Bit}, 1002, When::both},
      {"RSV2", {.opcode = op::kBinary, .payload = "hi", .rsv = kRsv2Bit}, 1002, When::both},
      {"RSV3 on a continuation", {.opcode = op::kContinuation, .payload = "hi", .rsv = kRsv3Bit}, 1002, When::in_message},
      {"an unmasked client frame", {.opcode = op::kText, .payload = "unmasked", .masked = false}, 1002, When::alone},
      {"an unmasked continuation", {.opcode = op::kContinuation, .payload = "unmasked", .masked = false}, 1002, When::in_message},
      {"a ping without FIN", {.opcode = op::kPing, .payload = "p", .fin = false}, 1002, When::both},
      {"a ping of 126 bytes", {.opcode = op::kPing, .payload = bytes_126()}, 1002, When::both},
      {"a close of 126 bytes", {.opcode = op::kClose, .payload = bytes_126()}, 1002, When::both},
      {"a continuation with nothing to continue", {.opcode = op::kContinuation, .payload = "more"}, 1002, When::alone},
      {"a text frame inside a fragmented message", {.opcode = op::kText, .payload = "new"}, 1002, When::in_message},
  };
  for (uint8_t code : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    cases.push_back({"a reserved opcode", {.opcode = code, .payload = "r"}, 1002, When::both});
  }
  return cases;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("hostile: malformed headers fail with their close code before any callback, even after a valid fragment") {
  EchoServer server(64 << 10);
  size_t closes = 0;
  for (const BadFrame& bad : bad_frames()) {
    for (const bool in_message : {false, true}) {
      if (bad.when != When::both && in_message != (bad.when == When::in_message)) continue;
      for (const Delivery d : kBothDeliveries) {
        const std::string what = bad.what;
        CAPTURE(what);
        CAPTURE(int{bad.frame.opcode});
        CAPTURE(in_message);
        CAPTURE(d.name());
        RawWsClient c = open_client(server.port(), d);
        std::string bytes;
        if (in_message) bytes = c.encode({.opcode = op::kBinary, .payload = "the start of a message", .fin = false});
        bytes += c.encode(bad.frame);
        bytes += c.encode({.opcode = op::kText, .payload = "after"});  // never read as a message
        REQUIRE(c.send_raw(bytes));
        expect_fail(c, bad.code);
        ++closes;
      }
    }
  }
  REQUIRE(server.wait_closes(closes));
  CHECK(server.messages() == 0);
}

TEST_CASE("hostile: a header cut after 7 of its 8 length bytes, then silence, is closed by the idle timeout, not held") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, {.route = [](WebSocketBehavior<EchoPeer>& b) {
                      b.limits.idle_timeout = 300ms;
                      b.limits.close_timeout = 300ms;
                    }});
  RawWsClient c = open_client(server.port());
  const std::string frame = c.encode({.opcode = op::kBinary, .length_form = 8, .declared = 1 << 20});
  REQUIRE(c.send_raw(frame.substr(0, 2 + 7)));
  const auto start = std::chrono::steady_clock::now();
  // The server's Close (1001, idle) comes; the client cannot answer it (its own frame is half-sent) and
  // the server drops TCP once its close timeout is over.
  const CloseOutcome o = c.read_until_close(5000, false);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(o.close_received);
  CHECK(o.code == 1001);
  CHECK(o.end == ReadStatus::eof);
  MESSAGE("closed ", std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms after the silence began");
  CHECK(took >= 250ms);
  CHECK(took < 2s);
  REQUIRE(server.wait_closes(1));
  CHECK(server.close_codes() == std::vector<int>{1001});
  CHECK(server.messages() == 0);
}

}  // TEST_SUITE("io")
