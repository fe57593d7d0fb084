#include <ringcast/core/detail/spsc_queue.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <thread>
#include <vector>

using namespace ringcast;

namespace {

struct Tracked {
  static inline int alive = 0;
  int value;
  explicit Tracked(int v) noexcept : value(v) { ++alive; }
  Tracked(Tracked&& o) noexcept : value(o.value) { ++alive; }
  ~Tracked() { --alive; }
};

}  // namespace

TEST_CASE("spsc queue: capacity rounds up to a power of two and fills exactly") {
  SpscQueue<int> q(5);
  CHECK(q.capacity() == 8);
  for (int i = 0; i < 8; ++i) CHECK(q.try_push(int{i}));
  CHECK_FALSE(q.try_push(99));
  CHECK(q.size() == 8);
  CHECK(q.free_slots() == 0);
}

TEST_CASE("spsc queue: FIFO order, front on empty, and wrap-around") {
  SpscQueue<int> q(4);
  CHECK(q.front() == nullptr);
  CHECK(q.empty());
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 100; ++round) {
    while (q.try_push(int{next_in})) ++next_in;
    for (int k = 0; k < 3; ++k) {
      int* v = q.front();
      REQUIRE(v != nullptr);
      CHECK(*v == next_out++);
      q.pop();
    }
  }
  while (int* v = q.front()) {
    CHECK(*v == next_out++);
    q.pop();
  }
  CHECK(next_in == next_out);
}

TEST_CASE("spsc queue: staged items stay invisible until published") {
  SpscQueue<int> q(4);
  CHECK(q.try_stage(1));
  CHECK(q.try_stage(2));
  CHECK(q.front() == nullptr);
  CHECK(q.publish());
  CHECK_FALSE(q.publish());
  REQUIRE(q.front() != nullptr);
  CHECK(*q.front() == 1);
  CHECK(q.try_stage(3));
  CHECK(q.try_stage(4));
  CHECK_FALSE(q.try_stage(5));  // staged items take room too
  q.publish();
  CHECK(q.size() == 4);
}

TEST_CASE("spsc queue: consume takes a bounded batch in order") {
  SpscQueue<int> q(16);
  for (int i = 0; i < 10; ++i) q.try_push(int{i});
  std::vector<int> seen;
  CHECK(q.consume([&](int& v) { seen.push_back(v); }, 4) == 4);
  CHECK(q.consume([&](int& v) { seen.push_back(v); }) == 6);
  CHECK(q.consume([&](int& v) { seen.push_back(v); }) == 0);
  REQUIRE(seen.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(seen[i] == i);
}

TEST_CASE("spsc queue: items are destroyed exactly once, including those left at destruction") {
  Tracked::alive = 0;
  {
    SpscQueue<Tracked> q(8);
    for (int i = 0; i < 6; ++i) q.try_emplace(i);
    q.try_stage(6);
    CHECK(Tracked::alive == 7);
    q.pop();
    q.consume([](Tracked&) {}, 2);
    CHECK(Tracked::alive == 4);
  }
  CHECK(Tracked::alive == 0);
}

TEST_CASE("spsc queue: two threads, 10 million items, no loss, no duplicate, FIFO") {
  constexpr uint64_t kItems = 10'000'000;
  SpscQueue<uint64_t> q(1024);
  std::thread producer([&] {
    uint64_t i = 0;
    while (i < kItems) {
      // Alternate single pushes and staged batches so both publication paths are exercised.
      if ((i / 4096) % 2 == 0) {
        if (q.try_push(uint64_t{i})) ++i;
      } else {
        size_t staged = 0;
        while (staged < 37 && i < kItems && q.try_stage(uint64_t{i})) {
          ++i;
          ++staged;
        }
        q.publish();
      }
    }
  });
  uint64_t expected = 0;
  uint64_t mismatches = 0;
  while (expected < kItems) {
    q.consume([&](uint64_t& v) {
      if (v != expected) ++mismatches;
      expected = v + 1;
    });
  }
  producer.join();
  CHECK(mismatches == 0);
  CHECK(expected == kItems);
  CHECK(q.empty());
}
