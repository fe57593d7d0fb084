// The game demo's pure parts: the wire format of apps/game/PROTOCOL.md (checked against the bytes the
// document gives, not against our own decoder), input decoding, names, movement, and seat counting.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "apps/game/admission.hpp"
#include "apps/game/protocol.hpp"
#include "apps/game/simulation.hpp"

using namespace ringcast::game;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string target_input(float x, float y) {
  std::string m(12, '\0');
  m[0] = static_cast<char>(kInputTarget);
  std::memcpy(m.data() + 4, &x, 4);  // the test machine is little-endian, as the protocol is
  std::memcpy(m.data() + 8, &y, 4);
  return m;
}

Input keys(uint8_t k) { return Input{.kind = Input::Kind::keys, .keys = k}; }

}  // namespace

TEST_CASE("game protocol: the snapshot of the document's example encodes byte for byte") {
  Simulation sim(30);
  sim.add(7, 492.0f, 250.0f, 3);
  for (int i = 0; i < 1233; ++i) sim.step();  // standing still
  sim.apply(7, keys(kKeyRight));
  sim.step();  // 8 units to the right: x = 500, tick 1234, heading 0, moving
  std::string out;
  sim.encode_snapshot(out);
  CHECK(out == bytes({0x02, 0x00, 0x01, 0x00, 0xd2, 0x04, 0x00, 0x00,                          //
                      0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x43, 0x00, 0x00, 0x7a, 0x43,  //
                      0x00, 0x00, 0x03, 0x01}));
}

TEST_CASE("game protocol: WELCOME, PLAYER_JOINED and PLAYER_LEFT have the documented layout") {
  std::string m;
  append_welcome(m, 30, 0x01020304);
  CHECK(m == bytes({0x01, 0x01, 0x1e, 0x00, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x7a, 0x44, 0x00, 0x00, 0x7a, 0x44}));
  m.clear();
  append_player_joined(m, 9, 15, "b\xc3\xb6");
  CHECK(m == bytes({0x03, 0x0f, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 'b', 0xc3, 0xb6}));
  m.clear();
  append_player_left(m, 0x10000);
  CHECK(m == bytes({0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}));
}

TEST_CASE("game protocol: concatenated server messages split at their own sizes") {
  std::string all;
  append_welcome(all, 30, 1);
  append_player_joined(all, 1, 0, "ann");
  append_player_left(all, 1);
  std::string_view rest = all;
  CHECK(server_message_size(rest) == 16);
  rest.remove_prefix(16);
  CHECK(server_message_size(rest) == 11);
  rest.remove_prefix(11);
  CHECK(server_message_size(rest) == 8);
  CHECK(server_message_size(rest.substr(0, 7)) == 0);  // a cut message is not a message
  CHECK(server_message_size(bytes({0x7f, 0, 0, 0})) == 0);
}

TEST_CASE("game protocol: inputs decode, and malformed ones are refused") {
  auto k = parse_input(bytes({0x10, 0x09}));
  REQUIRE(k);
  CHECK(k->kind == Input::Kind::keys);
  CHECK(k->keys == (kKeyUp | kKeyRight));
  CHECK(parse_input(bytes({0x10, 0xf2}))->keys == kKeyDown);  // reserved bits are ignored

  auto t = parse_input(target_input(250.5f, 1e6f));
  REQUIRE(t);
  CHECK(t->kind == Input::Kind::target);
  CHECK(t->x == 250.5f);
  CHECK(t->y == 1000.0f);  // clamped to the world
  CHECK(parse_input(target_input(-3.0f, 0.0f))->x == 0.0f);

  CHECK_FALSE(parse_input(""));
  CHECK_FALSE(parse_input(bytes({0x10})));                 // too short
  CHECK_FALSE(parse_input(bytes({0x10, 0x01, 0x00})));     // too long
  CHECK_FALSE(parse_input(target_input(1, 2).substr(0, 11)));
  CHECK_FALSE(parse_input(target_input(1, 2) + "x"));
  CHECK_FALSE(parse_input(bytes({0x01, 0x00})));           // a server message type
  CHECK_FALSE(parse_input(bytes({0x12, 0x00})));           // unknown type
  CHECK_FALSE(parse_input(target_input(std::numeric_limits<float>::quiet_NaN(), 1)));
  CHECK_FALSE(parse_input(target_input(1, std::numeric_limits<float>::infinity())));
}

TEST_CASE("game protocol: match and player names follow the document's rules") {
  CHECK(valid_match_name("lobby"));
  CHECK(valid_match_name("A-z_09"));
  CHECK(valid_match_name(std::string(32, 'm')));
  CHECK_FALSE(valid_match_name(""));
  CHECK_FALSE(valid_match_name(std::string(33, 'm')));
  CHECK_FALSE(valid_match_name("a b"));
  CHECK_FALSE(valid_match_name("a.b"));
  CHECK_FALSE(valid_match_name("caf\xc3\xa9"));

  CHECK(valid_player_name("ann"));
  CHECK(valid_player_name("Ren\xc3\xa9 the great!"));
  CHECK(valid_player_name(std::string(24, 'n')));
  CHECK(valid_player_name("\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93\xe2\x9c\x93"));
  CHECK_FALSE(valid_player_name(""));
  CHECK_FALSE(valid_player_name(std::string(25, 'n')));
  CHECK_FALSE(valid_player_name("tab\there"));
  CHECK_FALSE(valid_player_name(std::string("nul\0", 4)));
  CHECK_FALSE(valid_player_name("del\x7f"));
  CHECK_FALSE(valid_player_name("bad\xc3("));   // not UTF-8
  CHECK_FALSE(valid_player_name("cut\xe2\x9c"));  // ends mid code point
  // The chat's rule for room names: nothing that reorders or breaks the text around the name.
  CHECK_FALSE(valid_player_name("evil\xe2\x80\xaegnp.exe"));  // U+202E RIGHT-TO-LEFT OVERRIDE
  CHECK_FALSE(valid_player_name("a\xe2\x81\xa6" "b"));           // U+2066 LEFT-TO-RIGHT ISOLATE
  CHECK_FALSE(valid_player_name("a\xe2\x80\x8f" "b"));           // U+200F RIGHT-TO-LEFT MARK
  CHECK_FALSE(valid_player_name("a\xe2\x80\xa8" "b"));           // U+2028 LINE SEPARATOR
  CHECK_FALSE(valid_player_name("c1\xc2\x85"));                // U+0085, a C1 control
}

TEST_CASE("game protocol: headings point along the movement, 0 to +x and 16384 to +y") {
  CHECK(heading_of(1, 0) == 0);
  CHECK(heading_of(0, 1) == 16384);
  CHECK(heading_of(-1, 0) == 32768);
  CHECK(heading_of(0, -1) == 49152);
  CHECK(heading_of(1, 1) == 8192);
  CHECK(heading_of(1, -1) == 57344);
}

TEST_CASE("game simulation: keys move a player 240 units per second, diagonals at the same speed") {
  Simulation sim(30);
  sim.add(1, 500, 500, 0);
  sim.apply(1, keys(kKeyLeft));
  for (int i = 0; i < 30; ++i) sim.step();
  CHECK(sim.find(1)->x == doctest::Approx(260));
  CHECK(sim.find(1)->y == 500);
  CHECK(sim.find(1)->heading == 32768);
  CHECK(sim.find(1)->moving);

  sim.apply(1, keys(kKeyDown | kKeyRight));
  const float x0 = sim.find(1)->x, y0 = sim.find(1)->y;
  sim.step();
  CHECK(std::hypot(sim.find(1)->x - x0, sim.find(1)->y - y0) == doctest::Approx(8));
  CHECK(sim.find(1)->heading == 8192);

  sim.apply(1, keys(kKeyUp | kKeyDown));  // opposite keys cancel
  const float y1 = sim.find(1)->y;
  sim.step();
  CHECK(sim.find(1)->y == y1);
  CHECK_FALSE(sim.find(1)->moving);
  CHECK(sim.find(1)->heading == 8192);  // the last movement's direction stays
}

TEST_CASE("game simulation: positions stay in the world, and a player pressed to a wall is not moving") {
  Simulation sim(30);
  sim.add(1, 995, 3, 0);
  sim.apply(1, keys(kKeyRight | kKeyUp));
  sim.step();
  CHECK(sim.find(1)->x == 1000);
  CHECK(sim.find(1)->y == 0);
  CHECK(sim.find(1)->moving);
  sim.step();
  CHECK_FALSE(sim.find(1)->moving);
}

TEST_CASE("game simulation: a target is walked to in a straight line and the player stops on it") {
  Simulation sim(30);
  sim.add(1, 100, 100, 0);
  sim.apply(1, *parse_input(target_input(130, 140)));  // 50 units away: 6.25 ticks
  for (int i = 0; i < 6; ++i) {
    sim.step();
    const PlayerState& p = *sim.find(1);
    CHECK((p.x - 100) * 4 == doctest::Approx((p.y - 100) * 3));  // on the line
    CHECK(p.moving);
  }
  sim.step();
  CHECK(sim.find(1)->x == 130);
  CHECK(sim.find(1)->y == 140);
  sim.step();
  CHECK_FALSE(sim.find(1)->moving);
  CHECK(sim.find(1)->x == 130);

  sim.apply(1, *parse_input(target_input(900, 140)));
  sim.step();
  sim.apply(1, keys(0));  // INPUT_KEYS cancels the target
  const float x = sim.find(1)->x;
  sim.step();
  CHECK(sim.find(1)->x == x);
}

TEST_CASE("game simulation: snapshots list players in joining order, and colours spread") {
  Simulation sim(60);
  CHECK(sim.step_length() == 4.0f);
  for (uint32_t id = 1; id <= 17; ++id) sim.add(id * 10, 1, 1, sim.least_used_colour());
  CHECK(sim.find(10)->colour == 0);
  CHECK(sim.find(160)->colour == 15);
  CHECK(sim.find(170)->colour == 0);  // all 16 used once: the lowest again
  CHECK(sim.remove(20));
  CHECK_FALSE(sim.remove(20));
  CHECK(sim.least_used_colour() == 1);
  std::string out;
  sim.encode_snapshot(out);
  REQUIRE(out.size() == 8 + 16 * 16);
  CHECK(get_u16(out.data() + 2) == 16);
  CHECK(get_u32(out.data() + 8) == 10);
  CHECK(get_u32(out.data() + 8 + 16) == 30);
  CHECK(get_u32(out.data() + 8 + 16 * 15) == 170);
}

TEST_CASE("game admission: a match takes seats up to its limit, and a released seat can be taken again") {
  Admission a(2, 16);
  CHECK(a.reserve("m") == Seat::taken);
  CHECK(a.reserve("m") == Seat::taken);
  CHECK(a.reserve("m") == Seat::match_full);
  CHECK(a.reserve("other") == Seat::taken);
  CHECK(a.taken("m") == 2);
  a.release("m");
  CHECK(a.reserve("m") == Seat::taken);
  a.release("m");
  a.release("m");
  CHECK(a.taken("m") == 0);
  a.release("m");  // nothing to give back: harmless
  CHECK(a.taken("m") == 0);
}

TEST_CASE("game admission: at most max_matches matches are open; joining an open one still works, and a closed one makes room") {
  Admission a(4, 2);
  CHECK(a.reserve("one") == Seat::taken);
  CHECK(a.reserve("two") == Seat::taken);
  CHECK(a.reserve("three") == Seat::too_many_matches);
  CHECK(a.reserve("one") == Seat::taken);
  CHECK(a.matches() == 2);
  a.release("two");  // its last player: the match closes
  CHECK(a.matches() == 1);
  CHECK(a.reserve("three") == Seat::taken);
}
