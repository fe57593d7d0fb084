#pragma once
// The bytes the process's allocator has handed out and not yet taken back: a test sees by the
// difference that a buffer of its own was freed (and not twice, nor early). glibc's count when the
// allocator is glibc's; the sanitizer's own count in ASan and TSan builds, which replace malloc.
// Any thread may call them; a difference means something only while no other thread allocates.
#include <cstddef>

#if defined(RINGCAST_ASAN) || defined(RINGCAST_TSAN)
#include <sanitizer/allocator_interface.h>
#else
#include <malloc.h>
#endif

namespace ringcast::test {

inline size_t heap_bytes_in_use() {
#if defined(RINGCAST_ASAN) || defined(RINGCAST_TSAN)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;  // in use in the arenas, plus chunks mapped on their own
#endif
}

// Whether `action` gave at least `size` bytes back to the allocator (net of what it allocated).
template <typename F>
bool frees(size_t size, F&& action) {
  const size_t before = heap_bytes_in_use();
  action();
  return heap_bytes_in_use() + size <= before;
}

}  // namespace ringcast::test
