#pragma once
// Slab<T>: fixed-size records in chunks that never move, addressed by a dense 32-bit index, with a
// free list. Owned by one shard (not thread-safe). Records are constructed on alloc and destroyed on
// free; a chunk is allocated only when every earlier one is full, so memory per live record is
// sizeof(T) plus chunk slack, and a record's address stays valid until it is freed.
#include <cassert>
#include <cstdint>
#include <cstring>
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

  // Constructs a record and returns it with its index. The slot is taken only once the record is
  // built: a constructor that throws leaves the slab as it was.
  template <typename... Args>
  std::pair<T*, uint32_t> alloc(Args&&... args) {
    const bool reuse = free_head_ != kNone;
    if (!reuse && high_water_ == chunks_.size() * kChunk) {
      std::unique_ptr<Cell[]> chunk(new Cell[kChunk]);  // uninitialised: pages stay untouched until used
      chunks_.push_back(std::move(chunk));
    }
    const uint32_t index = reuse ? free_head_ : high_water_;
    const uint32_t next = reuse ? next_free(index) : kNone;  // the link lies where the record goes
    T* p;
    try {
      p = new (slot(index)) T(std::forward<Args>(args)...);
    } catch (...) {
      if (reuse) set_next_free(index, next);  // a record built half-way may have written over it
      throw;
    }
    if (reuse) {
      free_head_ = next;
    } else {
      ++high_water_;
    }
    ++live_;
    return {p, index};
  }

  void free(uint32_t index) noexcept {
    assert(index < high_water_);
    at(index)->~T();
    set_next_free(index, free_head_);
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
  // A free slot's first bytes hold the next free index: copied, since a slot is aligned for T only.
  uint32_t next_free(uint32_t index) noexcept {
    uint32_t next;
    std::memcpy(&next, slot(index), sizeof next);
    return next;
  }
  void set_next_free(uint32_t index, uint32_t next) noexcept { std::memcpy(slot(index), &next, sizeof next); }

  std::vector<std::unique_ptr<Cell[]>> chunks_;
  uint32_t free_head_ = kNone;
  uint32_t high_water_ = 0;
  uint32_t live_ = 0;
};

}  // namespace ringcast
