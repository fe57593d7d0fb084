// FrameArena: where a room's frames go on one shard, how arenas follow one another when a frame does
// not fit, and that an arena lives exactly as long as the room or a member's queued segment holds it.
#include <ringcast/ws/rooms/detail/frame_arena.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <ringcast/net/backend/detail/output_queue.hpp>
#include "tests/support/heap_bytes.hpp"

using namespace ringcast;

namespace {

std::string frame_of(size_t n, char c) { return std::string(n, c); }

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::string at(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

TEST_CASE("frame arena: a new arena is empty, has one reference, and its capacity right behind its header") {
  FrameArena* a = FrameArena::create(1000);
  CHECK(a->refs == 1);
  CHECK(a->used == 0);
  CHECK(a->capacity == 1000);
  CHECK(a->data() == reinterpret_cast<uint8_t*>(a) + sizeof(FrameArena));
  CHECK(sizeof(FrameArena) == 12);
  a->data()[999] = 1;  // the whole capacity is writable (ASan)
  FrameArena::release(a);
}

TEST_CASE("frame arena: the first frame opens a 4 KiB arena and the frames that follow lie back to back") {
  FrameArena* open = nullptr;
  const std::string f1 = frame_of(100, 'a'), f2 = frame_of(30, 'b'), f3 = frame_of(1, 'c');
  const uint8_t* p1 = FrameArena::place(open, bytes(f1));
  REQUIRE(open != nullptr);
  FrameArena* first = open;
  CHECK(open->capacity == FrameArena::kFirstCapacity);
  CHECK(open->refs == 1);  // the room's
  CHECK(p1 == open->data());
  const uint8_t* p2 = FrameArena::place(open, bytes(f2));
  const uint8_t* p3 = FrameArena::place(open, bytes(f3));
  CHECK(open == first);
  CHECK(p2 == p1 + 100);
  CHECK(p3 == p2 + 30);
  CHECK(open->used == 131);
  CHECK(at(p1, 131) == f1 + f2 + f3);
  CHECK(open->refs == 1);  // placing takes no reference: members take their own
  FrameArena::release(open);
}

TEST_CASE("frame arena: a frame that fills the room left exactly still goes into the open arena") {
  FrameArena* open = nullptr;
  FrameArena::place(open, bytes(frame_of(FrameArena::kFirstCapacity - 50, 'a')));
  FrameArena* first = open;
  const uint8_t* p = FrameArena::place(open, bytes(frame_of(50, 'b')));
  CHECK(open == first);
  CHECK(p == first->data() + FrameArena::kFirstCapacity - 50);
  CHECK(open->used == open->capacity);
  const uint8_t* q = FrameArena::place(open, bytes(frame_of(1, 'c')));  // now nothing fits
  CHECK(open->capacity == 2 * FrameArena::kFirstCapacity);  // a new arena (maybe at the old address)
  CHECK(q == open->data());
  CHECK(open->used == 1);
  FrameArena::release(open);
}

TEST_CASE("frame arena: when a frame does not fit, the next arena is twice the size, up to 64 KiB, never less than the frame") {
  FrameArena* open = nullptr;
  const std::string frame = frame_of(1500, 'x');
  std::vector<uint32_t> capacities;
  for (int i = 0; i < 160; ++i) {  // 2, 5, 10, 21, 43, 43 and 36 frames
    const uint8_t* p = FrameArena::place(open, bytes(frame));
    if (p == open->data()) capacities.push_back(open->capacity);  // the first frame of a new arena
  }
  CHECK(capacities == std::vector<uint32_t>{4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 64 << 10, 64 << 10});
  FrameArena::release(open);

  // A frame larger than the doubled capacity gets an arena of its own size.
  open = nullptr;
  const uint8_t* p = FrameArena::place(open, bytes(frame_of(5000, 'y')));
  CHECK(open->capacity == 5000);
  CHECK(p == open->data());
  FrameArena::place(open, bytes(frame_of(20'000, 'z')));
  CHECK(open->capacity == 20'000);
  FrameArena::release(open);
}

TEST_CASE("frame arena: a full arena lives on while members hold it, and the last reference frees it") {
  constexpr size_t kFrame = 2000;
  FrameArena* open = nullptr;
  const std::string f1 = frame_of(kFrame, '1'), f2 = frame_of(kFrame, '2'), f3 = frame_of(kFrame, '3');
  const uint8_t* p1 = FrameArena::place(open, bytes(f1));
  FrameArena* full = open;
  ++full->refs;  // two members queued the first frame
  ++full->refs;
  const uint8_t* p2 = FrameArena::place(open, bytes(f2));
  CHECK(open == full);
  // The third does not fit: the room lets go of the full arena; the members' references keep it.
  const size_t before = test::heap_bytes_in_use();
  FrameArena::place(open, bytes(f3));
  CHECK(open != full);
  CHECK(open->capacity == 2 * FrameArena::kFirstCapacity);
  CHECK(test::heap_bytes_in_use() >= before + 2 * FrameArena::kFirstCapacity);  // the new one, and none freed
  CHECK(full->refs == 2);
  CHECK(at(p1, kFrame) == f1);
  CHECK(at(p2, kFrame) == f2);
  CHECK_FALSE(test::frees(FrameArena::kFirstCapacity, [&] { FrameArena::release(full); }));
  CHECK(full->refs == 1);
  CHECK(test::frees(FrameArena::kFirstCapacity, [&] { FrameArena::release(full); }));

  // With no member holding it, the room's release frees an arena at once.
  FrameArena* next = open;
  CHECK(test::frees(next->capacity, [&] { FrameArena::release(next); }));
}

TEST_CASE("frame arena: a member's consecutive frames are one output queue segment and one reference") {
  // How the rooms use it: the first frame a member gets takes a reference, the frames after it
  // join that segment (OutputQueue::extend_external) and take none.
  BufferPool pool;
  OutputQueue member, skipped_one;
  FrameArena* open = nullptr;
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    const std::string f = frame_of(100, static_cast<char>('a' + i));
    const uint8_t* p = FrameArena::place(open, bytes(f));
    expected += f;
    if (!member.extend_external(p, f.size(), open)) {
      ++open->refs;
      member.append_external(p, f.size(), open, &FrameArena::release);
    }
    if (i == 2) continue;  // this member does not get the third frame: its fourth starts a segment
    if (!skipped_one.extend_external(p, f.size(), open)) {
      ++open->refs;
      skipped_one.append_external(p, f.size(), open, &FrameArena::release);
    }
  }
  CHECK(member.segments() == 1);
  CHECK(skipped_one.segments() == 2);
  CHECK(open->refs == 1 + 1 + 2);
  const std::span<const uint8_t> f = member.front();
  CHECK(at(f.data(), f.size()) == expected);

  FrameArena* arena = open;
  FrameArena::release(open);  // the end of the loop iteration: the room lets go
  open = nullptr;
  member.consume(member.bytes(), pool);
  CHECK(arena->refs == 2);
  skipped_one.consume(100, pool);  // part of its first segment: nothing released yet
  CHECK(arena->refs == 2);
  CHECK(test::frees(FrameArena::kFirstCapacity, [&] { skipped_one.clear(pool); }));
}
