#include "net/buffer_pool.hpp"

#include <sys/mman.h>

#include <new>

namespace ringcast {

BufferPool::~BufferPool() {
  for (uint8_t* c : chunks_) ::munmap(c, kBlockSize * kChunkBlocks);
}

void BufferPool::grow() {
  void* p = ::mmap(nullptr, kBlockSize * kChunkBlocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* chunk = static_cast<uint8_t*>(p);
  chunks_.push_back(chunk);
  // Untouched pages cost nothing until written: new blocks start cold.
  for (size_t i = kChunkBlocks; i-- > 0;) cold_.push_back(chunk + i * kBlockSize);
}

uint8_t* BufferPool::get() {
  ++in_use_;
  if (!hot_.empty()) {
    uint8_t* b = hot_.back();
    hot_.pop_back();
    return b;
  }
  if (cold_.empty()) grow();
  uint8_t* b = cold_.back();
  cold_.pop_back();
  return b;
}

void BufferPool::put(uint8_t* block) noexcept {
  --in_use_;
  if (hot_.size() < hot_cap_) {
    hot_.push_back(block);
    return;
  }
  ::madvise(block, kBlockSize, MADV_DONTNEED);
  cold_.push_back(block);
}

}  // namespace ringcast
