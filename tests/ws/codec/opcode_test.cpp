#include <ringcast/ws/codec/opcode.hpp>

#include <doctest/doctest.h>

using namespace ringcast;

TEST_CASE("opcodes 0-2 and 8-10 are known, 3-7 and 11-15 reserved; 8 and up are control") {
  for (int v = 0; v < 16; ++v) {
    CAPTURE(v);
    const auto op = static_cast<OpCode>(v);
    CHECK(is_known(op) == (v <= 2 || (v >= 8 && v <= 10)));
    CHECK(is_control(op) == (v >= 8));
    CHECK(is_data(op) == (v <= 2));
    CHECK((to_string(op) == "reserved") == !is_known(op));
  }
  CHECK(to_string(OpCode::text) == "text");
  CHECK(to_string(OpCode::pong) == "pong");
}
