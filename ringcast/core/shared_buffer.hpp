#pragma once
// SharedBuffer: immutable bytes shared between shards, reference-counted, in one allocation (the
// count, the size and the bytes together). Built once by one thread, then only read. Each shard that
// receives one holds one reference (one atomic operation per shard hop); a shard that hands the bytes
// to many connections counts those uses itself, without atomics (see LocalShare in ws/rooms).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace ringcast {

class SharedBuffer {
 public:
  // A buffer of `size` bytes with one reference; fill data() before sharing it.
  static SharedBuffer* create(size_t size) {
    void* p = std::malloc(sizeof(SharedBuffer) + size);
    if (!p) throw std::bad_alloc();
    return new (p) SharedBuffer(size);
  }

  uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const noexcept { return reinterpret_cast<const uint8_t*>(this + 1); }
  size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size_}; }

  void retain(uint32_t n = 1) noexcept { refs_.fetch_add(n, std::memory_order_relaxed); }
  // The last release frees it. Release pairs with acquire so the freeing thread sees every write.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      this->~SharedBuffer();
      std::free(this);
    }
  }

 private:
  explicit SharedBuffer(size_t size) noexcept : size_(size) {}
  std::atomic<uint32_t> refs_{1};
  uint32_t size_;
};
static_assert(sizeof(SharedBuffer) == 8);

// One reference to a SharedBuffer, released when the holder goes away — also when a task carrying
// it across the mesh is destroyed without running (shutdown).
class SharedBufferRef {
 public:
  explicit SharedBufferRef(SharedBuffer* buffer) noexcept : p_(buffer) {}
  SharedBufferRef(SharedBufferRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  SharedBufferRef& operator=(SharedBufferRef&& o) noexcept {
    if (this != &o) {
      if (p_) p_->release();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  SharedBufferRef(const SharedBufferRef&) = delete;
  SharedBufferRef& operator=(const SharedBufferRef&) = delete;
  ~SharedBufferRef() {
    if (p_) p_->release();
  }
  SharedBuffer& operator*() const noexcept { return *p_; }
  SharedBuffer* operator->() const noexcept { return p_; }
  SharedBuffer* get() const noexcept { return p_; }

 private:
  SharedBuffer* p_;
};

}  // namespace ringcast
