#pragma once
// BufferPool: a shard's 16 KiB output blocks. Output queues copy small writes into the tail block, so
// a connection with pending output holds a few blocks and an idle one holds none.
//
// Blocks come from 1 MiB mmap'd chunks and are never freed one by one. A small "hot" set of free
// blocks stays in memory for reuse; beyond it a freed block's pages are handed back to the kernel
// (MADV_DONTNEED) and the block waits, costing address space only, in the "cold" list. So a burst —
// a connection storm, one slow reader — does not leave the process's resident memory inflated.
// One shard only (not thread-safe).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringcast {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;
  static constexpr size_t kChunkBlocks = 64;  // 1 MiB of address space per chunk

  explicit BufferPool(size_t hot_blocks = 64) : hot_cap_(hot_blocks) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint8_t* get();
  void put(uint8_t* block) noexcept;
  size_t blocks_in_use() const noexcept { return in_use_; }
  size_t hot_blocks() const noexcept { return hot_.size(); }

 private:
  void grow();

  std::vector<uint8_t*> hot_;   // free, resident
  std::vector<uint8_t*> cold_;  // free, pages returned to the kernel
  std::vector<uint8_t*> chunks_;
  size_t hot_cap_;
  size_t in_use_ = 0;
};

}  // namespace ringcast
