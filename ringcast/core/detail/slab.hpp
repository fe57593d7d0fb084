#pragma once
// Slab<T>: fixed-size records in chunks that never move, addressed by a dense 32-bit index, with a
// free list. Owned by one shard (not thread-safe). Records are constructed on alloc and destroyed on
// free; a chunk is allocated only when every earlier one is full, so memory per live record is
// sizeof(T) plus chunk slack, and a record's address stays valid until it is freed.
#include <cassert>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace ringcast {

template <typename T, uint32_t kChunk = 1024>
class Slab {
  static_assert((kChunk & (kChunk - 1)) == 0, "chunk size is a power of two");

 public:
  Slab() = default;
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  ~Slab() {
    // Records still alive are destroyed: walk the free list to know which slots are free.
    std::vector<bool> is_free(size_t{chunks_.size()} * kChunk, false);
    for (uint32_t i = free_head_; i != kNone; i = next_free(i)) is_free[i] = true;
    for (uint32_t i = 0; i < high_water_; ++i) {
      if (!is_free[i]) at(i)->~T();
    }
  }

  // Constructs a record and returns it with its index.
  template <typename... Args>
  std::pair<T*, uint32_t> alloc(Args&&... args) {
    uint32_t index;
    if (free_head_ != kNone) {
      index = free_head_;
      free_head_ = next_free(index);
    } else {
      if (high_water_ == chunks_.size() * kChunk) chunks_.emplace_back(new Cell[kChunk]);
      index = high_water_++;
    }
    ++live_;
    T* p = new (slot(index)) T(std::forward<Args>(args)...);
    return {p, index};
  }

  void free(uint32_t index) noexcept {
    assert(index < high_water_);
    at(index)->~T();
    *reinterpret_cast<uint32_t*>(slot(index)) = free_head_;
    free_head_ = index;
    --live_;
  }

  T* at(uint32_t index) noexcept { return std::launder(reinterpret_cast<T*>(slot(index))); }
  uint32_t live() const noexcept { return live_; }
  // Every index ever handed out is below this; iterate [0, high_water) and skip freed records
  // with a flag of T's own.
  uint32_t high_water() const noexcept { return high_water_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Cell {
    alignas(T) unsigned char bytes[sizeof(T) < sizeof(uint32_t) ? sizeof(uint32_t) : sizeof(T)];
  };
  void* slot(uint32_t index) noexcept { return chunks_[index / kChunk][index % kChunk].bytes; }
  uint32_t next_free(uint32_t index) noexcept { return *reinterpret_cast<uint32_t*>(slot(index)); }

  std::vector<std::unique_ptr<Cell[]>> chunks_;
  uint32_t free_head_ = kNone;
  uint32_t high_water_ = 0;
  uint32_t live_ = 0;
};

}  // namespace ringcast
