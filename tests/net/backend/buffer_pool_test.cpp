#include <ringcast/net/backend/detail/buffer_pool.hpp>

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <vector>

using namespace ringcast;

namespace {

// Whether any page of the block is resident (mincore).
bool resident(uint8_t* block) {
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> pages(BufferPool::kBlockSize / static_cast<size_t>(page));
  REQUIRE(::mincore(block, BufferPool::kBlockSize, pages.data()) == 0);
  for (unsigned char p : pages) {
    if (p & 1) return true;
  }
  return false;
}

std::vector<uint8_t*> take(BufferPool& pool, size_t n) {
  std::vector<uint8_t*> blocks;
  for (size_t i = 0; i < n; ++i) {
    blocks.push_back(pool.get());
    std::memset(blocks.back(), 0x5a, BufferPool::kBlockSize);  // make its pages resident
  }
  return blocks;
}

}  // namespace

TEST_CASE("buffer pool: a steady load reuses resident blocks, a trim after a burst returns them") {
  BufferPool pool(/*hot_floor=*/4);
  // A busy second: 100 blocks in use at once, then all sent.
  std::vector<uint8_t*> first = take(pool, 100);
  for (uint8_t* b : first) pool.put(b);
  CHECK(pool.blocks_in_use() == 0);
  CHECK(pool.hot_blocks() == 100);
  pool.trim();  // the peak since the last trim was 100: keep them all
  CHECK(pool.hot_blocks() == 100);

  // The same load again takes the same, still resident, blocks: no page fault, no zeroing.
  std::vector<uint8_t*> second;
  for (int i = 0; i < 100; ++i) second.push_back(pool.get());
  CHECK(std::set<uint8_t*>(first.begin(), first.end()) == std::set<uint8_t*>(second.begin(), second.end()));
  for (uint8_t* b : second) CHECK(resident(b));
  for (uint8_t* b : second) pool.put(b);

  // The load falls to one block at a time: the next trim keeps what the last second needed, the one
  // after only the floor, and the blocks cut have no resident pages.
  pool.trim();
  CHECK(pool.hot_blocks() == 100);
  pool.put(pool.get());
  pool.trim();
  CHECK(pool.hot_blocks() == 4);
  size_t resident_blocks = 0;
  for (uint8_t* b : first) resident_blocks += resident(b) ? 1 : 0;
  CHECK(resident_blocks == 4);

  // A second without a block taken: the floor goes too, and nothing is left to trim.
  CHECK(pool.has_surplus());
  pool.trim();
  CHECK(pool.hot_blocks() == 0);
  CHECK_FALSE(pool.has_surplus());
  resident_blocks = 0;
  for (uint8_t* b : first) resident_blocks += resident(b) ? 1 : 0;
  CHECK(resident_blocks == 0);
  // The next burst is served from the cold blocks, which fault their pages in again.
  std::vector<uint8_t*> third = take(pool, 10);
  for (uint8_t* b : third) CHECK(resident(b));
  for (uint8_t* b : third) pool.put(b);
}

TEST_CASE("buffer pool: blocks in use are never trimmed, and the floor is all a quiet pool keeps") {
  BufferPool pool(/*hot_floor=*/0);
  std::vector<uint8_t*> held = take(pool, 10);
  std::vector<uint8_t*> burst = take(pool, 50);
  for (uint8_t* b : burst) pool.put(b);
  CHECK(pool.has_surplus());
  pool.trim();  // peak 60, 10 in use → keeps 50
  CHECK(pool.hot_blocks() == 50);
  pool.trim();  // the peak since was 10, all in use → no free block is kept
  CHECK(pool.hot_blocks() == 0);
  CHECK_FALSE(pool.has_surplus());
  CHECK(pool.blocks_in_use() == 10);
  for (uint8_t* b : held) CHECK(resident(b));
  for (uint8_t* b : held) pool.put(b);
}
