#pragma once
// BufferPool: a shard's 16 KiB output blocks. Output queues copy small writes into the tail block, so
// a connection with pending output holds a few blocks and an idle one holds none.
//
// Blocks come from 1 MiB mmap'd chunks and are never freed one by one. Freed blocks stay resident in
// a "hot" list for reuse. The owner calls trim() about once a second while there is a surplus: it
// cuts the hot list to what the peak use since the last trim could need again, at least `hot_floor`
// blocks, or none after a second in which no block was taken; the pages of the blocks cut go back to
// the kernel (MADV_DONTNEED) and the blocks wait, costing address space only, in the "cold" list. So
// a steady load (a busy room keeps hundreds of members' blocks in flight) reuses resident blocks
// without a page fault, while a burst — a connection storm, one slow reader — leaves the process's
// resident memory within two trims, and a quiet shard keeps no free block resident at all.
// One shard only (not thread-safe).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringcast {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;
  static constexpr size_t kChunkBlocks = 64;  // 1 MiB of address space per chunk

  explicit BufferPool(size_t hot_floor = 64) : hot_floor_(hot_floor) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint8_t* get();
  void put(uint8_t* block) noexcept;
  // Free blocks are resident: a trim would have something to consider (the floor goes too once a
  // second passes without a block taken).
  bool has_surplus() const noexcept { return !hot_.empty(); }
  void trim() noexcept;
  size_t blocks_in_use() const noexcept { return in_use_; }
  size_t hot_blocks() const noexcept { return hot_.size(); }

 private:
  void grow();

  std::vector<uint8_t*> hot_;   // free, resident
  std::vector<uint8_t*> cold_;  // free, pages returned to the kernel
  std::vector<uint8_t*> chunks_;
  size_t hot_floor_;
  size_t in_use_ = 0;
  size_t peak_in_use_ = 0;  // since the last trim
  bool taken_ = false;      // a block was taken since the last trim
};

}  // namespace ringcast
