#include <ringcast/net/backend/detail/buffer_pool.hpp>

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
  taken_ = true;
  if (++in_use_ > peak_in_use_) peak_in_use_ = in_use_;
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
  hot_.push_back(block);  // never more than the peak since the last trim
}

void BufferPool::trim() noexcept {
  // The floor keeps blocks for a load that comes and goes; a pool nobody took from for a whole
  // period keeps none.
  const size_t floor = taken_ ? hot_floor_ : 0;
  const size_t peak = peak_in_use_ > floor ? peak_in_use_ : floor;
  const size_t keep = peak > in_use_ ? peak - in_use_ : 0;
  if (hot_.size() > keep) {
    // The oldest free blocks go: the list is a stack, so its bottom is the least recently used.
    const auto cut = hot_.begin() + static_cast<std::ptrdiff_t>(hot_.size() - keep);
    for (auto it = hot_.begin(); it != cut; ++it) {
      ::madvise(*it, kBlockSize, MADV_DONTNEED);
      cold_.push_back(*it);
    }
    hot_.erase(hot_.begin(), cut);
  }
  peak_in_use_ = in_use_;
  taken_ = false;
}

}  // namespace ringcast
