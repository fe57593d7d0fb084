#include <ringcast/ws/codec/detail/frame_parser.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include "tests/support/frame_recorder.hpp"

using namespace ringcast;
using test::ParseOutcome;
using test::ParseSetup;
using test::parse_pieces;

namespace {

using Bytes = std::vector<uint8_t>;

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::string as_string(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// A frame as a client sends it (masked) or a server sends it (mask = null).
Bytes frame(OpCode op, const Bytes& payload, const uint8_t* mask = kKey, bool fin = true, bool rsv1 = false) {
  Bytes out;
  append_frame(out, op, payload, {.fin = fin, .rsv1 = rsv1, .mask = mask});
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<size_t> random_sizes(std::mt19937& rng, size_t total, size_t max_piece) {
  std::vector<size_t> sizes;
  for (size_t left = total; left > 0;) {
    const size_t len = std::uniform_int_distribution<size_t>(1, std::min(left, max_piece))(rng);
    sizes.push_back(len);
    left -= len;
  }
  return sizes;
}

// Parses `wire` whole, then byte by byte, at random split points, and with callbacks that stop the
// parse after every kind of report: every way must give what the whole parse gave, which is returned.
ParseOutcome parse_every_way(const Bytes& wire, ParseSetup setup = {}, bool byte_by_byte = true) {
  const ParseOutcome whole = parse_pieces(wire, setup);
  CHECK_FALSE(whole.stuck);
  CHECK(whole.calls_after_error == 0);
  if (byte_by_byte) CHECK(parse_pieces(wire, setup, std::vector<size_t>(wire.size(), 1)) == whole);
  std::mt19937 rng(static_cast<uint32_t>(wire.size()));
  for (size_t max_piece : {size_t{3}, size_t{17}, size_t{200}, size_t{5000}}) {
    CHECK(parse_pieces(wire, setup, random_sizes(rng, wire.size(), max_piece)) == whole);
  }
  for (test::StopAfter stop : {test::StopAfter{true, false, false}, test::StopAfter{false, true, false},
                               test::StopAfter{false, false, true}, test::StopAfter{true, true, true}}) {
    ParseSetup stopping = setup;
    stopping.stop = stop;
    CHECK(parse_pieces(wire, stopping) == whole);
    CHECK(parse_pieces(wire, stopping, random_sizes(rng, wire.size(), 50)) == whole);
  }
  return whole;
}

// A parse that must fail with `code` once `consumed` bytes were read, however the bytes are split.
void expect_error(const Bytes& wire, uint16_t code, size_t consumed, ParseSetup setup = {}) {
  const ParseOutcome out = parse_every_way(wire, setup);
  CHECK(out.error == code);
  CHECK(out.error_calls == 1);
  CHECK(out.consumed == consumed);
}

constexpr size_t kLengths[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 125, 126, 127, 128, 1000,
                               4096, 65535, 65536, 65537};

}  // namespace

TEST_CASE("masked frames of every length form arrive whole as one chunk, unmasked") {
  for (size_t len : kLengths) {
    CAPTURE(len);
    const Bytes payload = random_bytes(len, static_cast<uint32_t>(len));
    const Bytes wire = frame(OpCode::binary, payload);
    const ParseOutcome out = parse_pieces(wire, {});
    REQUIRE(out.frames.size() == 1);
    const auto& f = out.frames[0];
    CHECK(f.header.opcode == OpCode::binary);
    CHECK(f.header.fin);
    CHECK(f.header.masked);
    CHECK(f.header.rsv == 0);
    CHECK(f.header.mask_key == load_mask_key(kKey));
    CHECK(f.header.payload_length == len);
    CHECK(f.header.header_size == (len < 126 ? 6 : len < 65536 ? 8 : 14));
    CHECK(f.payload == as_string(payload));
    CHECK(f.chunks == (len == 0 ? 0u : 1u));
    CHECK(f.ended);
    CHECK(out.error == 0);
    CHECK(out.consumed == wire.size());
  }
}

TEST_CASE("a stream of frames of every length gives the same frames whole, byte by byte and split") {
  Bytes wire;
  for (size_t len : kLengths) {
    const Bytes f = frame(len % 2 ? OpCode::text : OpCode::binary, Bytes(len, static_cast<uint8_t>('a' + len % 26)));
    wire.insert(wire.end(), f.begin(), f.end());
  }
  const ParseOutcome out = parse_every_way(wire);
  REQUIRE(out.frames.size() == std::size(kLengths));
  for (size_t i = 0; i < std::size(kLengths); ++i) {
    CHECK(out.frames[i].payload == std::string(kLengths[i], static_cast<char>('a' + kLengths[i] % 26)));
  }
  CHECK(out.consumed == wire.size());
}

TEST_CASE("a 16 MiB frame is unmasked the same whole and at random split points") {
  const Bytes payload = random_bytes(16u << 20, 99);
  const Bytes wire = frame(OpCode::binary, payload);
  const ParseOutcome whole = parse_pieces(wire, {});
  REQUIRE(whole.frames.size() == 1);
  CHECK(whole.frames[0].header.payload_length == payload.size());
  CHECK(whole.frames[0].header.header_size == 14);
  CHECK(whole.frames[0].payload == as_string(payload));
  CHECK(whole.frames[0].chunks == 1);
  std::mt19937 rng(5);
  const ParseOutcome split = parse_pieces(wire, {}, random_sizes(rng, wire.size(), 70000));
  CHECK(split == whole);
  CHECK(split.frames[0].chunks > 200);
}

TEST_CASE("a frame with the largest payload the header can state is announced, not refused") {
  // 2^63 - 1 bytes: legal on the wire; only a caller's max_payload refuses it.
  const Bytes wire = {0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 0xAA};
  const ParseOutcome out = parse_every_way(wire);
  REQUIRE(out.frames.size() == 1);
  CHECK(out.frames[0].header.payload_length == 0x7FFFFFFFFFFFFFFFull);
  CHECK(out.frames[0].payload == std::string(1, static_cast<char>(0xAA ^ 1)));
  CHECK_FALSE(out.frames[0].ended);
  CHECK(out.error == 0);
}

TEST_CASE("lengths in a longer form than needed are accepted") {
  // RFC 6455 §5.2 binds the sender to the minimal form; a receiver may read any form.
  const Bytes ext16_for_5 = {0x81, 0x80 | 126, 0, 5, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
  const Bytes ext16_for_0 = {0x82, 0x80 | 126, 0, 0, 9, 9, 9, 9};
  const Bytes ext64_for_5 = {0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
  for (const Bytes& wire : {ext16_for_5, ext16_for_0, ext64_for_5}) {
    const ParseOutcome out = parse_every_way(wire);
    REQUIRE(out.frames.size() == 1);
    CHECK(out.error == 0);
    CHECK(out.frames[0].ended);
    CHECK(out.frames[0].header.header_size == wire.size() - out.frames[0].header.payload_length);
  }
  Bytes ext64_for_65535(14 + 65535, 'z');
  const uint8_t header[14] = {0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0};
  std::copy(std::begin(header), std::end(header), ext64_for_65535.begin());
  const ParseOutcome out = parse_every_way(ext64_for_65535, {}, false);
  REQUIRE(out.frames.size() == 1);
  CHECK(out.frames[0].header.payload_length == 65535);
  CHECK(out.frames[0].payload == std::string(65535, 'z'));
}

TEST_CASE("a 64-bit length with the most significant bit set fails with 1002") {
  expect_error({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 1002, 10);
  expect_error({0x82, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 1002, 10);
}

TEST_CASE("a payload above max_payload fails with 1009 as soon as its length is read") {
  ParseSetup setup;
  setup.max_payload = 1000;
  // Only the header is on the wire: the payload is never waited for.
  const Bytes f1001 = frame(OpCode::binary, Bytes(1001));
  expect_error(Bytes(f1001.begin(), f1001.begin() + 8), 1009, 4, setup);
  setup.max_payload = 10;
  expect_error(Bytes{0x81, 0x80 | 11}, 1009, 2, setup);
  setup.max_payload = 65536;
  expect_error(Bytes{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 1}, 1009, 10, setup);
  // At the limit it is fine.
  setup.max_payload = 1000;
  const ParseOutcome ok = parse_every_way(frame(OpCode::binary, Bytes(1000, 7)), setup);
  CHECK(ok.error == 0);
  REQUIRE(ok.frames.size() == 1);
  CHECK(ok.frames[0].payload.size() == 1000);
}

TEST_CASE("the six defined opcodes parse and the ten reserved ones fail with 1002") {
  for (int op = 0; op < 16; ++op) {
    CAPTURE(op);
    const auto code = static_cast<OpCode>(op);
    const Bytes payload = {0x03, 0xE8, 'o', 'k'};  // also a valid close payload (1000, "ok")
    const Bytes wire = frame(code, payload);
    if (is_known(code)) {
      const ParseOutcome out = parse_every_way(wire);
      CHECK(out.error == 0);
      REQUIRE(out.frames.size() == 1);
      CHECK(out.frames[0].header.opcode == code);
      CHECK(out.frames[0].payload == as_string(payload));
    } else {
      expect_error(wire, 1002, 1);  // known from the first byte
    }
  }
}

TEST_CASE("RSV bits fail with 1002 unless allowed, and allowed bits only on text and binary frames") {
  const OpCode ops[] = {OpCode::text, OpCode::binary, OpCode::continuation, OpCode::ping, OpCode::pong, OpCode::close};
  const uint8_t allowances[] = {0, kRsv1, kRsv1 | kRsv2 | kRsv3};
  for (uint8_t allowed : allowances) {
    for (OpCode op : ops) {
      for (uint8_t rsv = 0; rsv < 8; ++rsv) {
        CAPTURE(int(allowed));
        CAPTURE(to_string(op));
        CAPTURE(int(rsv));
        Bytes wire = frame(op, {'x', 'y'});
        wire[0] = static_cast<uint8_t>(wire[0] | rsv << 4);
        ParseSetup setup;
        setup.allowed_rsv = allowed;
        const uint8_t permitted = (op == OpCode::text || op == OpCode::binary) ? allowed : 0;
        if (((rsv << 4) & ~permitted) != 0) {
          expect_error(wire, 1002, 1, setup);
        } else {
          const ParseOutcome out = parse_every_way(wire, setup);
          CHECK(out.error == 0);
          REQUIRE(out.frames.size() == 1);
          CHECK(out.frames[0].header.rsv == rsv << 4);
          CHECK(out.frames[0].header.rsv1() == ((rsv & 4) != 0));
        }
      }
    }
  }
}

TEST_CASE("control frames over 125 bytes or without FIN fail with 1002") {
  for (OpCode op : {OpCode::ping, OpCode::pong, OpCode::close}) {
    CAPTURE(to_string(op));
    Bytes p125(125, 'p');
    if (op == OpCode::close) p125[0] = 0x03, p125[1] = 0xE8;
    const ParseOutcome ok = parse_every_way(frame(op, p125));
    CHECK(ok.error == 0);
    REQUIRE(ok.frames.size() == 1);
    CHECK(ok.frames[0].payload.size() == 125);
    expect_error(frame(op, Bytes(126, 'p')), 1002, 2);
    expect_error(frame(op, Bytes(70000, 'p')), 1002, 2);
    expect_error(frame(op, Bytes(3, 'p'), kKey, false), 1002, 1);
  }
}

TEST_CASE("a server fails unmasked frames and a client fails masked ones with 1002") {
  expect_error(frame(OpCode::text, {'h', 'i'}, nullptr), 1002, 2, {.role = Role::server});
  expect_error(frame(OpCode::text, {'h', 'i'}, kKey), 1002, 2, {.role = Role::client});
  expect_error(frame(OpCode::ping, {}, nullptr), 1002, 2, {.role = Role::server});
  const ParseOutcome out = parse_every_way(frame(OpCode::text, {'h', 'i'}, nullptr), {.role = Role::client});
  CHECK(out.error == 0);
  REQUIRE(out.frames.size() == 1);
  CHECK_FALSE(out.frames[0].header.masked);
  CHECK(out.frames[0].header.mask_key == 0);
  CHECK(out.frames[0].header.header_size == 2);
  CHECK(out.frames[0].payload == "hi");
}

TEST_CASE("a zero mask key leaves the payload as it is") {
  const uint8_t zero[4] = {0, 0, 0, 0};
  const ParseOutcome out = parse_every_way(frame(OpCode::text, {'a', 'b', 'c'}, zero));
  REQUIRE(out.frames.size() == 1);
  CHECK(out.frames[0].payload == "abc");
}

TEST_CASE("several frames in one buffer each arrive as one chunk") {
  const Bytes wire = concat({frame(OpCode::text, Bytes(10, 'a'), kKey, false), frame(OpCode::ping, {}),
                             frame(OpCode::continuation, Bytes(300, 'b')), frame(OpCode::close, {0x03, 0xE9})});
  const ParseOutcome out = parse_every_way(wire);
  REQUIRE(out.frames.size() == 4);
  CHECK_FALSE(out.frames[0].header.fin);
  CHECK(out.frames[0].chunks == 1);
  CHECK(out.frames[1].header.opcode == OpCode::ping);
  CHECK(out.frames[1].chunks == 0);
  CHECK(out.frames[1].ended);
  CHECK(out.frames[2].header.opcode == OpCode::continuation);
  CHECK(out.frames[2].chunks == 1);
  CHECK(out.frames[3].payload == "\x03\xe9");
  CHECK(out.consumed == wire.size());
}

TEST_CASE("a header split at each of its bytes gives the same frame") {
  const Bytes wire = frame(OpCode::binary, random_bytes(70000, 3));  // 14-byte header
  const ParseOutcome whole = parse_pieces(wire, {});
  for (size_t cut = 1; cut < 14; ++cut) {
    CAPTURE(cut);
    const ParseOutcome out = parse_pieces(wire, {}, {cut});
    CHECK(out == whole);
    CHECK(out.frames[0].chunks == 1);  // the payload after the header is one piece
  }
}

TEST_CASE("a callback that returns false stops the parse right after what it reported") {
  const Bytes a = frame(OpCode::text, {'a', 'b', 'c'});
  const Bytes b = frame(OpCode::ping, {});
  const Bytes wire = concat({a, b});
  Bytes buf = wire;
  FrameParser parser;
  test::FrameRecorder rec;
  rec.stop.header = true;
  size_t n = parser.parse(buf, UINT64_MAX, rec);
  CHECK(n == 6);  // the first header
  CHECK(rec.frames.size() == 1);
  CHECK(rec.frames[0].payload.empty());
  CHECK(parser.payload_remaining() == 3);
  rec.stop = {false, true, false};
  n += parser.parse(std::span(buf).subspan(n), UINT64_MAX, rec);
  CHECK(n == a.size());  // the payload, but not yet its end
  CHECK(rec.frames[0].payload == "abc");
  CHECK_FALSE(rec.frames[0].ended);
  CHECK_FALSE(parser.at_frame_boundary());
  rec.stop = {false, false, true};
  n += parser.parse(std::span(buf).subspan(n), UINT64_MAX, rec);
  CHECK(n == a.size());  // the held-back end of frame 1, nothing consumed
  CHECK(rec.frames[0].ended);
  CHECK(parser.at_frame_boundary());
  n += parser.parse(std::span(buf).subspan(n), UINT64_MAX, rec);
  CHECK(n == wire.size());  // the ping, stopped after its end
  REQUIRE(rec.frames.size() == 2);
  CHECK(rec.frames[1].ended);
  CHECK(parser.parse(std::span(buf).subspan(n), UINT64_MAX, rec) == 0);
  CHECK(rec.frames.size() == 2);
}

TEST_CASE("a failed parser consumes nothing and reports nothing until reset") {
  Bytes bad = frame(OpCode::text, {'x'}, nullptr);
  FrameParser parser;
  test::FrameRecorder rec;
  CHECK(parser.parse(bad, UINT64_MAX, rec) == 2);
  CHECK(parser.failed());
  CHECK(rec.error == 1002);
  Bytes good = frame(OpCode::text, {'x'});
  CHECK(parser.parse(good, UINT64_MAX, rec) == 0);
  CHECK(rec.frames.empty());
  CHECK(rec.error_calls == 1);
  parser.reset();
  CHECK(parser.parse(good, UINT64_MAX, rec) == good.size());
  CHECK(rec.frames.size() == 1);
}

TEST_CASE("a copy of a parser mid-frame resumes where the original was") {
  const Bytes payload = random_bytes(1000, 11);
  Bytes wire = frame(OpCode::binary, payload);
  FrameParser parser;
  test::FrameRecorder rec;
  Bytes first(wire.begin(), wire.begin() + 5);  // mid-header
  parser.parse(first, UINT64_MAX, rec);
  Bytes second(wire.begin() + 5, wire.begin() + 500);  // mid-payload
  parser.parse(second, UINT64_MAX, rec);
  FrameParser copy = parser;
  test::FrameRecorder rec_copy = rec;
  Bytes rest(wire.begin() + 500, wire.end());
  Bytes rest_copy = rest;
  parser.parse(rest, UINT64_MAX, rec);
  copy.parse(rest_copy, UINT64_MAX, rec_copy);
  CHECK(rec.frames[0].payload == as_string(payload));
  CHECK(rec_copy.frames[0].payload == as_string(payload));
}

TEST_CASE("parser state reports the frame boundary and the payload left") {
  FrameParser parser(Role::server, kRsv1);
  CHECK(parser.role() == Role::server);
  CHECK(parser.allowed_rsv() == kRsv1);
  CHECK(parser.at_frame_boundary());
  Bytes wire = frame(OpCode::text, Bytes(10, 'q'));
  test::FrameRecorder rec;
  Bytes head(wire.begin(), wire.begin() + 1);
  parser.parse(head, UINT64_MAX, rec);
  CHECK_FALSE(parser.at_frame_boundary());
  CHECK(parser.payload_remaining() == 0);
  Bytes mid(wire.begin() + 1, wire.begin() + 9);
  parser.parse(mid, UINT64_MAX, rec);
  CHECK(parser.payload_remaining() == 7);
  Bytes tail(wire.begin() + 9, wire.end());
  parser.parse(tail, UINT64_MAX, rec);
  CHECK(parser.at_frame_boundary());
  CHECK(rec.frames[0].payload == std::string(10, 'q'));
}
