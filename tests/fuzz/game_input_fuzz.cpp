// libFuzzer target for the game demo's decoding of client bytes (apps/game/protocol.hpp): every input
// message that parse_input accepts has a legal size and type and a finite target inside the world,
// and stays so through the simulation; the name checks and the server-message splitter never read
// past the bytes they are given.
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "apps/game/protocol.hpp"
#include "apps/game/simulation.hpp"

using namespace ringcast::game;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool in_world(float x, float y) { return std::isfinite(x) && std::isfinite(y) && x >= 0 && x <= kWorldWidth && y >= 0 && y <= kWorldHeight; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (const auto in = parse_input(bytes)) {
    if (in->kind == Input::Kind::keys) {
      check(size == kInputKeysSize && data[0] == kInputKeys && in->keys <= kKeyMask);
    } else {
      check(size == kInputTargetSize && data[0] == kInputTarget && in_world(in->x, in->y));
    }
    Simulation sim(30);
    sim.add(1, 500, 500, 0);
    check(sim.apply(1, *in));
    for (int i = 0; i < 200; ++i) {
      sim.step();
      check(in_world(sim.players()[0].x, sim.players()[0].y));
    }
  } else {
    check(size != kInputKeysSize || data[0] != kInputKeys);
  }

  if (valid_player_name(bytes)) {
    check(size >= 1 && size <= kMaxPlayerName);
    for (size_t i = 0; i < size; ++i) check(data[i] >= 0x20 && data[i] != 0x7f);
  }
  if (valid_match_name(bytes)) check(size >= 1 && size <= kMaxMatchName);
  check(server_message_size(bytes) <= size);
  return 0;
}
