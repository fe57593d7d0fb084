#pragma once
// BufferPool: a shard's cache of 16 KiB output blocks. Output queues copy small writes into the
// tail block, so a connection with pending output holds a few blocks and an idle one holds none.
// Freed blocks are kept for reuse up to a cap, beyond which they go back to the allocator.
// One shard only (not thread-safe).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringcast {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  explicit BufferPool(size_t max_cached_blocks = 1024) : max_cached_(max_cached_blocks) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint8_t* get();
  void put(uint8_t* block) noexcept;
  size_t blocks_in_use() const noexcept { return in_use_; }

 private:
  std::vector<uint8_t*> free_;
  size_t max_cached_;
  size_t in_use_ = 0;
};

}  // namespace ringcast
