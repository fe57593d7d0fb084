// The envelopes rooms put on a partition's channel in Redis: every form parses back to what was
// written, and anything else — foreign bytes, truncation, a bad opcode — is refused, never delivered.
#include <doctest/doctest.h>

#include <string>

#include <ringcast/ws/rooms/detail/room_envelope.hpp>

using namespace ringcast;

TEST_CASE("room envelope: a durable message carries its epoch, offset, term, opcode, room and bytes") {
  const auto e = RoomEnvelope::parse("M4503599627370495:17:7:2:5:lobbyhello:world");
  REQUIRE(e);
  CHECK(e->kind == RoomEnvelope::Kind::durable);
  CHECK(e->epoch == 4503599627370495u);
  CHECK(e->offset == 17);
  CHECK(e->term == 7);
  CHECK(e->op == OpCode::binary);
  CHECK(e->room == "lobby");
  CHECK(e->payload == "hello:world");
}

TEST_CASE("room envelope: presence names the room and the user who joined or left") {
  const auto joined = RoomEnvelope::parse("P1:3:abcalice");
  REQUIRE(joined);
  CHECK(joined->kind == RoomEnvelope::Kind::presence);
  CHECK(joined->joined);
  CHECK(joined->room == "abc");
  CHECK(joined->payload == "alice");
  const auto left = RoomEnvelope::parse("P0:3:abcbob");
  REQUIRE(left);
  CHECK(!left->joined);
}

TEST_CASE("room envelope: a live message written by a node parses back, empty message and odd bytes too") {
  for (std::string message : {std::string(), std::string("x"), std::string("a:b:c\r\n\0", 8)}) {
    std::string bytes;
    RoomEnvelope::write_live(bytes, 18446744073709551615u, 7, OpCode::text, "room:1", message);
    const auto e = RoomEnvelope::parse(bytes);
    REQUIRE(e);
    CHECK(e->kind == RoomEnvelope::Kind::live);
    CHECK(e->node == 18446744073709551615u);
    CHECK(e->seq == 7);
    CHECK(e->op == OpCode::text);
    CHECK(e->room == "room:1");
    CHECK(e->payload == message);
  }
}

TEST_CASE("room envelope: foreign, truncated or impossible envelopes are refused") {
  for (std::string_view bad : {"", "M", "X1:1:1:1:r", "M1:1:0:1:5:abc", "M1:0:0:1:1:r", "M1:1:0:9:1:r", "M1:1:0:1:0:",
                               "Mx:1:0:1:1:r", "M1:1:1:1:r", "M1:1:x:1:1:r", "P2:1:ru", "P1:1", "L1:1:1", "L1:1:8:1:rm", "L1:0:1:1:rm", "L1:1:1:rm", "M-1:1:0:1:1:r",
                               "M99999999999999999999999:1:0:1:1:r", "hello world"}) {
    CAPTURE(bad);
    CHECK(!RoomEnvelope::parse(bad));
  }
}
