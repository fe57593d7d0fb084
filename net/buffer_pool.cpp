#include "net/buffer_pool.hpp"

#include <cstdlib>
#include <new>

namespace ringcast {

BufferPool::~BufferPool() {
  for (uint8_t* b : free_) std::free(b);
}

uint8_t* BufferPool::get() {
  ++in_use_;
  if (!free_.empty()) {
    uint8_t* b = free_.back();
    free_.pop_back();
    return b;
  }
  void* p = std::aligned_alloc(64, kBlockSize);
  if (!p) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

void BufferPool::put(uint8_t* block) noexcept {
  --in_use_;
  if (free_.size() < max_cached_) {
    free_.push_back(block);
  } else {
    std::free(block);
  }
}

}  // namespace ringcast
