// Slab<T>: dense indexes, reuse of freed slots, records that never move, and a record's life from
// alloc to free (or to the slab's end).
#include <ringcast/core/detail/slab.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "tests/support/heap_bytes.hpp"

using namespace ringcast;

namespace {

// A record that counts its constructions and destructions, and can be told to throw while built.
struct Record {
  static inline int constructed = 0;
  static inline int destroyed = 0;
  uint64_t id;
  std::unique_ptr<int> payload;  // move-only: arguments are forwarded, not copied

  Record(uint64_t i, std::unique_ptr<int> p) : id(i), payload(std::move(p)) {
    if (!payload) throw std::invalid_argument("no payload");
    ++constructed;
  }
  ~Record() { ++destroyed; }
  static void reset() { constructed = destroyed = 0; }
};

}  // namespace

TEST_CASE("slab: indexes are dense from zero, in allocation order, and at() finds each record") {
  Slab<uint64_t, 8> slab;
  CHECK(slab.live() == 0);
  CHECK(slab.high_water() == 0);
  std::vector<uint64_t*> records;
  for (uint32_t i = 0; i < 20; ++i) {
    auto [p, index] = slab.alloc(uint64_t{1000} + i);
    CHECK(index == i);
    CHECK(*p == 1000 + i);
    records.push_back(p);
  }
  CHECK(slab.live() == 20);
  CHECK(slab.high_water() == 20);
  for (uint32_t i = 0; i < 20; ++i) {
    CHECK(slab.at(i) == records[i]);
    CHECK(*slab.at(i) == 1000 + i);
  }
}

TEST_CASE("slab: a freed index is handed out again before a new one, the last freed first") {
  Slab<uint64_t, 8> slab;
  for (int i = 0; i < 10; ++i) slab.alloc(uint64_t{0});
  uint64_t* third = slab.at(3);
  slab.free(3);
  slab.free(7);
  CHECK(slab.live() == 8);
  CHECK(slab.high_water() == 10);
  auto [p7, i7] = slab.alloc(uint64_t{77});
  auto [p3, i3] = slab.alloc(uint64_t{33});
  auto [p10, i10] = slab.alloc(uint64_t{100});
  CHECK(i7 == 7);
  CHECK(i3 == 3);
  CHECK(p3 == third);  // the same slot, the same address
  CHECK(i10 == 10);    // only then a new index
  CHECK(*slab.at(7) == 77);
  CHECK(*slab.at(3) == 33);
  CHECK(slab.live() == 11);
  CHECK(slab.high_water() == 11);
}

TEST_CASE("slab: records never move while the slab grows by chunks") {
  using Rec = std::array<uint64_t, 3>;
  Slab<Rec, 4> slab;                // a new chunk every four records
  std::vector<Rec*> first_address;  // by index: where the record was first placed
  std::vector<bool> live;
  for (uint64_t i = 0; i < 1000; ++i) {
    auto [p, index] = slab.alloc(Rec{i, i * 2, 0});
    if (index < first_address.size()) {
      CHECK(first_address[index] == p);  // a reused slot is the same memory
    } else {
      REQUIRE(index == first_address.size());
      first_address.push_back(p);
      live.push_back(true);
    }
    live[index] = true;
    (*p)[2] = index;
    if (i % 7 == 0) {  // a hole, filled by the next alloc
      slab.free(index);
      live[index] = false;
    }
  }
  for (uint32_t i = 0; i < first_address.size(); ++i) {
    REQUIRE(slab.at(i) == first_address[i]);
    if (!live[i]) continue;
    const Rec& r = *slab.at(i);
    CHECK(r[1] == r[0] * 2);  // untouched by the growth that followed
    CHECK(r[2] == i);
  }
  // Records of distinct indexes never share memory.
  std::set<const void*> addresses(first_address.begin(), first_address.end());
  CHECK(addresses.size() == slab.high_water());
}

TEST_CASE("slab: a record is built on alloc from the arguments given, and destroyed on free, once") {
  Record::reset();
  {
    Slab<Record, 4> slab;
    auto [r, index] = slab.alloc(uint64_t{42}, std::make_unique<int>(7));
    CHECK(Record::constructed == 1);
    CHECK(r->id == 42);
    CHECK(*r->payload == 7);
    slab.free(index);
    CHECK(Record::destroyed == 1);
    auto [again, same] = slab.alloc(uint64_t{43}, std::make_unique<int>(8));
    CHECK(same == index);
    CHECK(again->id == 43);  // a fresh record, not the old one's leftovers
    CHECK(*again->payload == 8);
    CHECK(Record::constructed == 2);
    CHECK(Record::destroyed == 1);
  }
  CHECK(Record::destroyed == 2);
}

TEST_CASE("slab: its end destroys the records still alive, and only those") {
  Record::reset();
  {
    Slab<Record, 4> slab;
    for (uint64_t i = 0; i < 30; ++i) slab.alloc(i, std::make_unique<int>(1));
    for (uint32_t i = 0; i < 30; i += 3) slab.free(i);
    CHECK(Record::destroyed == 10);
    CHECK(slab.live() == 20);
  }
  CHECK(Record::constructed == 30);
  CHECK(Record::destroyed == 30);
}

TEST_CASE("slab: a constructor that throws leaves the slab as it was") {
  Record::reset();
  {
    Slab<Record, 4> slab;
    for (uint64_t i = 0; i < 6; ++i) slab.alloc(i, std::make_unique<int>(1));
    slab.free(2);
    // From the free list, and from a fresh index: neither is taken.
    CHECK_THROWS_AS(slab.alloc(uint64_t{99}, nullptr), std::invalid_argument);
    CHECK(slab.live() == 5);
    auto [reused, index] = slab.alloc(uint64_t{2}, std::make_unique<int>(1));
    CHECK(index == 2);
    CHECK_THROWS_AS(slab.alloc(uint64_t{99}, nullptr), std::invalid_argument);
    CHECK(slab.live() == 6);
    CHECK(slab.high_water() == 6);
    auto [fresh, next] = slab.alloc(uint64_t{6}, std::make_unique<int>(1));
    CHECK(next == 6);
    CHECK(slab.live() == 7);
  }
  CHECK(Record::constructed == 8);
  CHECK(Record::destroyed == 8);  // the slab's end destroyed only records that were built
}

TEST_CASE("slab: memory grows a chunk at a time, and only once every slot before is taken") {
  using Big = std::array<uint8_t, 1024>;
  Slab<Big, 64> slab;  // 64 KiB chunks
  std::vector<uint32_t> indexes;
  indexes.reserve(64);
  size_t before = test::heap_bytes_in_use();
  indexes.push_back(slab.alloc().second);
  CHECK(test::heap_bytes_in_use() >= before + 64 * sizeof(Big));  // the first chunk
  before = test::heap_bytes_in_use();
  for (int i = 1; i < 64; ++i) indexes.push_back(slab.alloc().second);
  CHECK(test::heap_bytes_in_use() < before + sizeof(Big));  // the rest of the chunk: nothing new
  slab.free(indexes[10]);
  slab.free(indexes[20]);
  before = test::heap_bytes_in_use();
  slab.alloc();
  slab.alloc();  // the two freed slots
  CHECK(test::heap_bytes_in_use() < before + sizeof(Big));
  slab.alloc();  // every slot is taken: a second chunk
  CHECK(test::heap_bytes_in_use() >= before + 64 * sizeof(Big));
}

TEST_CASE("slab: records are aligned for their type, however small or over-aligned") {
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  Slab<Line, 4> lines;
  for (int i = 0; i < 9; ++i) CHECK(reinterpret_cast<uintptr_t>(lines.alloc().first) % 64 == 0);

  // Records smaller than a free-list link, and of a size that is not a multiple of it.
  Slab<std::array<char, 5>, 4> odd;
  std::vector<uint32_t> indexes;
  for (int i = 0; i < 9; ++i) indexes.push_back(odd.alloc(std::array<char, 5>{'a', 'b', 'c', 'd', char('0' + i)}).second);
  for (uint32_t i : indexes) odd.free(i);  // each free writes a free-list link into the record's slot
  for (int i = 0; i < 9; ++i) odd.alloc();
  CHECK(odd.live() == 9);
  CHECK(odd.high_water() == 9);

  Slab<uint8_t, 4> tiny;
  for (int i = 0; i < 9; ++i) tiny.alloc(static_cast<uint8_t>(i));
  for (uint32_t i = 0; i < 9; ++i) tiny.free(i);
  for (uint32_t i = 9; i-- > 0;) CHECK(tiny.alloc(uint8_t{1}).second == i);
}
