// SharedBuffer: its layout, its reference count, and that the last release — on whichever thread —
// frees it exactly once. A free shows as the allocator's bytes in use falling by the buffer's size.
#include <ringcast/core/shared_buffer.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/heap_bytes.hpp"

using namespace ringcast;

namespace {

constexpr size_t kBig = 1 << 20;  // large enough that its free cannot hide among other allocations

SharedBuffer* filled(size_t size, uint8_t seed) {
  SharedBuffer* b = SharedBuffer::create(size);
  for (size_t i = 0; i < size; ++i) b->data()[i] = static_cast<uint8_t>(seed + i);
  return b;
}

bool intact(const SharedBuffer& b, uint8_t seed) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b.data()[i] != static_cast<uint8_t>(seed + i)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("shared buffer: size bytes right behind an 8-byte header, in one allocation") {
  const size_t before = test::heap_bytes_in_use();
  SharedBuffer* b = filled(100, 7);
  CHECK(test::heap_bytes_in_use() >= before + sizeof(SharedBuffer) + 100);
  CHECK(b->size() == 100);
  CHECK(b->data() == reinterpret_cast<uint8_t*>(b) + 8);
  CHECK(std::as_const(*b).data() == b->data());
  CHECK(b->view().size() == 100);
  CHECK(reinterpret_cast<const uint8_t*>(b->view().data()) == b->data());
  CHECK(intact(*b, 7));
  b->release();

  SharedBuffer* empty = SharedBuffer::create(0);
  CHECK(empty->size() == 0);
  CHECK(empty->view().empty());
  empty->release();
}

TEST_CASE("shared buffer: the last release frees it, and no earlier one") {
  SharedBuffer* b = filled(kBig, 3);
  b->retain();
  b->retain(3);  // five references
  for (int i = 0; i < 4; ++i) {
    CHECK_FALSE(test::frees(kBig, [&] { b->release(); }));
    CHECK(intact(*b, 3));
  }
  CHECK(test::frees(kBig, [&] { b->release(); }));
}

TEST_CASE("shared buffer ref: releases its one reference when destroyed or replaced, never once moved from") {
  SUBCASE("destroyed") {
    SharedBuffer* b = filled(kBig, 1);
    auto ref = std::make_unique<SharedBufferRef>(b);
    CHECK(ref->get() == b);
    CHECK(&**ref == b);
    CHECK((*ref)->size() == kBig);
    CHECK(test::frees(kBig, [&] { ref.reset(); }));
  }
  SUBCASE("moved from: the new holder has the reference") {
    SharedBuffer* b = filled(kBig, 1);
    auto from = std::make_unique<SharedBufferRef>(b);
    auto to = std::make_unique<SharedBufferRef>(std::move(*from));
    CHECK(from->get() == nullptr);
    CHECK(to->get() == b);
    CHECK_FALSE(test::frees(kBig, [&] { from.reset(); }));
    CHECK(intact(*b, 1));
    CHECK(test::frees(kBig, [&] { to.reset(); }));
  }
  SUBCASE("replaced by move assignment: the old buffer's reference goes") {
    SharedBuffer* old_buffer = filled(kBig, 1);
    SharedBuffer* new_buffer = filled(kBig, 2);
    SharedBufferRef ref(old_buffer);
    SharedBufferRef other(new_buffer);
    CHECK(test::frees(kBig, [&] { ref = std::move(other); }));
    CHECK(ref.get() == new_buffer);
    CHECK(other.get() == nullptr);
    CHECK(intact(*new_buffer, 2));
    SharedBufferRef& same = ref;
    CHECK_FALSE(test::frees(kBig, [&] { ref = std::move(same); }));  // self-assignment keeps it
    CHECK(ref.get() == new_buffer);
  }
  SUBCASE("one of several references") {
    SharedBuffer* b = filled(kBig, 1);
    b->retain();
    { SharedBufferRef ref(b); }
    CHECK(intact(*b, 1));
    CHECK(test::frees(kBig, [&] { b->release(); }));
  }
}

TEST_SUITE("shards") {

TEST_CASE("shared buffer: references taken and dropped on eight threads at once free each buffer once, after its last reader") {
  // Each buffer starts with one reference per thread. Every thread takes and drops extra references
  // of each buffer while the others do the same, reads it, then drops its own: the last of the eight
  // frees it, on whichever thread that is. A free before the last reader is a use after free (ASan)
  // or a race with the reads (TSan); a second free aborts; a missing one shows in the byte count.
  constexpr unsigned kThreads = 8;
  constexpr size_t kBuffers = 256;
  constexpr size_t kSize = 64 << 10;
  auto round = [&] {
    const size_t before = test::heap_bytes_in_use();
    std::vector<SharedBuffer*> buffers(kBuffers);
    for (size_t i = 0; i < kBuffers; ++i) {
      buffers[i] = filled(kSize, static_cast<uint8_t>(i));
      buffers[i]->retain(kThreads - 1);
    }
    CHECK(test::heap_bytes_in_use() >= before + kBuffers * kSize);
    std::atomic<bool> go{false};
    std::atomic<size_t> damaged{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        for (size_t i = 0; i < kBuffers; ++i) {
          SharedBuffer& b = *buffers[i];
          for (unsigned k = 0; k < 4 + t; ++k) b.retain();
          for (unsigned k = 0; k < 4 + t; ++k) b.release();
          const uint8_t seed = static_cast<uint8_t>(i);
          if (b.data()[t] != static_cast<uint8_t>(seed + t) || b.data()[kSize - 1] != static_cast<uint8_t>(seed + kSize - 1)) {
            damaged.fetch_add(1);
          }
          b.release();
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread& th : threads) th.join();
    CHECK(damaged.load() == 0);
  };
  round();  // the threads' first round sets up their allocator arenas: not counted
  const size_t before = test::heap_bytes_in_use();
  round();
  // The round allocated kBuffers × kSize and leaves not one buffer behind (the slack, for the
  // threads' own bookkeeping, is a quarter of one).
  CHECK(test::heap_bytes_in_use() <= before + kSize / 4);
}

}  // TEST_SUITE
