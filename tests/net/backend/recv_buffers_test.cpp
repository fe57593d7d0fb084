#include <ringcast/net/backend/detail/recv_buffers.hpp>

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

using namespace ringcast;

namespace {

constexpr size_t kSize = 16 * 1024;

// Whether any page of buffer `bid` is resident (mincore).
bool resident(const RecvBuffers& b, unsigned bid) {
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> pages(kSize / static_cast<size_t>(page));
  REQUIRE(::mincore(b.data(bid), kSize, pages.data()) == 0);
  for (unsigned char p : pages) {
    if (p & 1) return true;
  }
  return false;
}

// What the kernel does with a buffer it takes: writes a message into it (one page of it).
void fill(RecvBuffers& b, unsigned bid) {
  std::memset(b.data(bid), 0x5a, 200);
  b.filled(bid);
}

// The ring's buffers from its head when the kernel took `taken` buffers in all, from 0 on, each going
// back to the tail once handled.
std::vector<uint16_t> waiting(unsigned count, unsigned taken) {
  std::vector<uint16_t> w;
  for (unsigned i = 0; i < count; ++i) w.push_back(static_cast<uint16_t>((taken + i) % count));
  return w;
}

size_t resident_count(const RecvBuffers& b) {
  size_t n = 0;
  for (unsigned bid = 0; bid < b.count(); ++bid) n += resident(b, bid) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("receive buffers: a burst leaves every buffer resident, a quiet second gives them all back") {
  RecvBuffers b(64, kSize, /*hot_floor=*/4);
  CHECK_FALSE(b.has_surplus());
  CHECK(resident_count(b) == 0);  // mapped untouched
  // A connect burst: 200 upgrade requests walk round the ring three times.
  for (unsigned i = 0; i < 200; ++i) fill(b, i % 64);
  CHECK(b.resident_buffers() == 64);
  CHECK(resident_count(b) == 64);
  CHECK(b.has_surplus());
  CHECK(b.trim(waiting(64, 200)) == 0);  // the last second read through the whole ring: all stay
  CHECK(resident_count(b) == 64);
  CHECK(b.trim(waiting(64, 200)) == 64);  // a second without a read: none stays
  CHECK(resident_count(b) == 0);
  CHECK(b.resident_buffers() == 0);
  CHECK_FALSE(b.has_surplus());
  // The next read faults a zero page in again: the buffer works as before.
  fill(b, 200 % 64);
  CHECK(resident(b, 200 % 64));
  CHECK(b.data(200 % 64)[0] == 0x5a);
}

TEST_CASE("receive buffers: a trickle keeps the buffers the next reads take and gives back the rest") {
  RecvBuffers b(64, kSize, /*hot_floor=*/4);
  for (unsigned i = 0; i < 64; ++i) fill(b, i);
  CHECK(b.trim(waiting(64, 64)) == 0);
  // A quieter second: 8 reads, buffers 0..7, now at the tail. The next second's 8 reads take 8..15:
  // they stay resident, the 48 after them and the 8 just used go back.
  for (unsigned i = 0; i < 8; ++i) fill(b, i);
  CHECK(b.trim(waiting(64, 72)) == 56);
  for (unsigned bid = 0; bid < 64; ++bid) CHECK(resident(b, bid) == (bid >= 8 && bid < 16));
  CHECK(b.resident_buffers() == 8);
  // Fewer reads than the floor still keep the floor.
  fill(b, 8);
  CHECK(b.trim(waiting(64, 73)) == 4);  // keeps 9..12; 13, 14, 15 and 8 go
  for (unsigned bid = 0; bid < 64; ++bid) CHECK(resident(b, bid) == (bid >= 9 && bid < 13));
}
