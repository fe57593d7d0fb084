#include "bench/load/room_order.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

using namespace ringcast::load;

TEST_CASE("room order: the first member to reach a position sets it, later ones agree or disagree") {
  RoomOrder order(1);
  CHECK(order.check(5, 111) == RoomOrder::Seen::first);
  CHECK(order.check(5, 111) == RoomOrder::Seen::same);
  CHECK(order.check(5, 222) == RoomOrder::Seen::different);
  CHECK(order.check(6, 222) == RoomOrder::Seen::first);
}

TEST_CASE("room order: a member too far behind the others is not compared, never reported as disagreeing") {
  RoomOrder order(1, 4);  // 16 slots
  for (uint64_t p = 1; p <= 1000; ++p) order.check(p, static_cast<uint32_t>(p));
  uint64_t different = 0;
  for (uint64_t p = 1; p <= 1000; ++p) different += order.check(p, static_cast<uint32_t>(p)) == RoomOrder::Seen::different;
  CHECK(different == 0);
}

// Members of one room stay close to each other (their server sends them the same stream): kept within
// 64 positions here by a barrier, a position's slot is not taken by another before all four got there.
TEST_CASE("room order: members on several threads in one order agree everywhere; where one differs, it is seen") {
  RoomOrder order(1);
  std::barrier step(4);
  std::atomic<uint64_t> different{0}, same{0};
  std::vector<std::thread> members;
  for (int m = 0; m < 4; ++m) {
    members.emplace_back([&, m] {
      for (uint64_t p = 1; p <= 64'000; ++p) {
        // Member 3 sees another message at every 1000th position.
        const uint32_t seen = m == 3 && p % 1000 == 0 ? 7 : static_cast<uint32_t>(RoomOrder::mix(p));
        const RoomOrder::Seen s = order.check(p, seen);
        if (s == RoomOrder::Seen::different) ++different;
        if (s == RoomOrder::Seen::same) ++same;
        if (p % 64 == 0) step.arrive_and_wait();
      }
    });
  }
  for (auto& t : members) t.join();
  // 64 such positions: each one disagreement (member 3 against the first there) or three (the others
  // against member 3, when it was first); rarely one is not compared (below).
  CHECK(different.load() >= 60);
  CHECK(different.load() <= 3 * 64);
  // Nearly every position is compared (a few meet a slot another position in the window took).
  CHECK(same.load() + different.load() > 3 * 64'000 * 99 / 100);
}

TEST_CASE("room order: a room's silence is the time between the first sightings of its positions") {
  RoomOrder order(2);
  CHECK(order.advance(0, 1000) == 0);  // its first position
  CHECK(order.advance(0, 5000) == 4000);
  CHECK(order.advance(1, 6000) == 0);  // rooms are timed apart
}
