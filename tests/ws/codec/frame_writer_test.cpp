#include <ringcast/ws/codec/detail/frame_writer.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <ringcast/ws/codec/close_code.hpp>
#include <ringcast/ws/codec/detail/frame_parser.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>
#include "tests/support/frame_recorder.hpp"

using namespace ringcast;

namespace {
const uint8_t kKey[4] = {0xde, 0xad, 0xbe, 0xef};

std::vector<uint8_t> header(OpCode op, bool fin, bool rsv1, size_t len, const uint8_t* mask) {
  std::vector<uint8_t> out(kMaxFrameHeaderSize);
  out.resize(write_frame_header(out.data(), op, fin, rsv1, len, mask));
  return out;
}

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
}  // namespace

TEST_CASE("headers use the minimal length form: 2, 4 or 10 bytes, 4 more with a mask") {
  using V = std::vector<uint8_t>;
  CHECK(header(OpCode::text, true, false, 0, nullptr) == V{0x81, 0x00});
  CHECK(header(OpCode::binary, true, false, 125, nullptr) == V{0x82, 125});
  CHECK(header(OpCode::binary, true, false, 126, nullptr) == V{0x82, 126, 0x00, 126});
  CHECK(header(OpCode::binary, true, false, 65535, nullptr) == V{0x82, 126, 0xFF, 0xFF});
  CHECK(header(OpCode::binary, true, false, 65536, nullptr) == V{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0});
  CHECK(header(OpCode::binary, true, false, (size_t{1} << 32) + 5, nullptr) == V{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5});
  CHECK(header(OpCode::text, true, false, 5, kKey) == V{0x81, 0x85, 0xde, 0xad, 0xbe, 0xef});
  CHECK(header(OpCode::text, true, false, 300, kKey) == V{0x81, 0xFE, 0x01, 0x2C, 0xde, 0xad, 0xbe, 0xef});
  CHECK(header(OpCode::text, true, false, 70000, kKey).size() == kMaxFrameHeaderSize);
  for (size_t len : {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    CHECK(header(OpCode::text, true, false, len, nullptr).size() == frame_header_size(len, false));
    CHECK(header(OpCode::text, true, false, len, kKey).size() == frame_header_size(len, true));
  }
}

TEST_CASE("FIN, RSV1 and the opcode go into the first header byte") {
  CHECK(header(OpCode::text, false, false, 0, nullptr)[0] == 0x01);
  CHECK(header(OpCode::continuation, true, false, 0, nullptr)[0] == 0x80);
  CHECK(header(OpCode::text, true, true, 0, nullptr)[0] == 0xC1);
  CHECK(header(OpCode::pong, true, false, 0, nullptr)[0] == 0x8A);
  CHECK(header(OpCode::close, true, false, 0, nullptr)[0] == 0x88);
}

TEST_CASE("a masked frame carries the payload XORed with the key and leaves the source alone") {
  const std::string payload = "Hello, world! 0123456789 and some more bytes to pass 64 in length...";
  const std::string wire = encode_frame(OpCode::text, payload, {.mask = kKey});
  const size_t h = frame_header_size(payload.size(), true);
  REQUIRE(wire.size() == h + payload.size());
  for (size_t i = 0; i < payload.size(); ++i) {
    CHECK(static_cast<uint8_t>(wire[h + i]) == static_cast<uint8_t>(payload[i] ^ kKey[i % 4]));
  }
  CHECK(payload.substr(0, 5) == "Hello");
}

TEST_CASE("frames written for either role parse back to the same header and payload") {
  for (size_t len : {0, 1, 5, 125, 126, 127, 65535, 65536, 100000}) {
    for (OpCode op : {OpCode::text, OpCode::binary, OpCode::continuation, OpCode::ping, OpCode::close}) {
      if (is_control(op) && len > kMaxControlPayload) continue;
      for (bool client_sends : {true, false}) {
        CAPTURE(len);
        CAPTURE(to_string(op));
        CAPTURE(client_sends);
        std::string payload(len, 'x');
        for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 31 + 7);
        const bool rsv1 = op == OpCode::text;
        std::vector<uint8_t> wire;
        append_frame(wire, op, bytes(payload), {.fin = true, .rsv1 = rsv1, .mask = client_sends ? kKey : nullptr});
        test::ParseSetup setup;
        setup.role = client_sends ? Role::server : Role::client;
        setup.allowed_rsv = kRsv1;
        const test::ParseOutcome out = test::parse_pieces(wire, setup);
        CHECK(out.error == 0);
        REQUIRE(out.frames.size() == 1);
        CHECK(out.frames[0].header.opcode == op);
        CHECK(out.frames[0].header.rsv1() == rsv1);
        CHECK(out.frames[0].header.masked == client_sends);
        CHECK(out.frames[0].payload == payload);
      }
    }
  }
}

TEST_CASE("append_frame appends to what the string already holds") {
  std::string out = "prefix";
  append_frame(out, OpCode::text, "ab");
  append_frame(out, OpCode::ping, "");
  CHECK(out == std::string("prefix\x81\x02" "ab\x89\x00", 12));
}

TEST_CASE("close payloads carry the code in network order and a reason cut on a code point boundary") {
  uint8_t buf[kMaxControlPayload];
  CHECK(write_close_payload(buf, close_code::kNormal, "") == 2);
  CHECK(buf[0] == 0x03);
  CHECK(buf[1] == 0xE8);
  CHECK(write_close_payload(buf, 4321, "bye") == 5);
  CHECK(std::string(reinterpret_cast<char*>(buf), 5) == "\x10\xe1" "bye");
  // A reason longer than 123 bytes is cut to 123.
  CHECK(write_close_payload(buf, 1000, std::string(200, 'r')) == kMaxControlPayload);
  // 122 ASCII bytes and a 3-byte "€" straddling the limit: the "€" goes.
  const std::string straddle = std::string(122, 'a') + "\xe2\x82\xac";
  const size_t n = write_close_payload(buf, 1001, straddle);
  CHECK(n == 2 + 122);
  const ClosePayload back = validate_close_payload({buf, n});
  CHECK(back.error == 0);
  CHECK(back.code == 1001);
  CHECK(back.reason == std::string(122, 'a'));
  // 1005 is never sent: an empty payload.
  CHECK(write_close_payload(buf, close_code::kNoStatus, "ignored") == 0);
}

TEST_CASE("a whole close frame parses back into a valid close payload") {
  std::string wire;
  append_close_frame(wire, close_code::kGoingAway, "server restart", kKey);
  const test::ParseOutcome out =
      test::parse_pieces({reinterpret_cast<const uint8_t*>(wire.data()), wire.size()}, {});
  REQUIRE(out.frames.size() == 1);
  CHECK(out.frames[0].header.opcode == OpCode::close);
  const ClosePayload p = validate_close_payload(
      {reinterpret_cast<const uint8_t*>(out.frames[0].payload.data()), out.frames[0].payload.size()});
  CHECK(p.error == 0);
  CHECK(p.code == close_code::kGoingAway);
  CHECK(p.reason == "server restart");
}
