#pragma once
// FrameArena: one room's frames on one shard, back to back in one allocation, so that a member's
// consecutive frames form one segment of its output queue (OutputQueue::extend_external joins a frame
// that starts where the member's last segment ends). The room holds a reference while the arena is
// open (until the end of the loop iteration, or until a frame does not fit); each member's segment
// holds one more. Counted without atomics: one shard only.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>

namespace ringcast {

struct FrameArena {
  uint32_t refs;
  uint32_t used;
  uint32_t capacity;

  static constexpr uint32_t kFirstCapacity = 4 << 10;  // then doubling within one iteration
  static constexpr uint32_t kMaxCapacity = 64 << 10;

  uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }  // `capacity` bytes follow
  // An empty arena with one reference (the room's).
  static FrameArena* create(uint32_t capacity) {
    void* p = std::malloc(sizeof(FrameArena) + capacity);
    if (!p) throw std::bad_alloc();
    return new (p) FrameArena{1, 0, capacity};
  }
  // Drops one reference; the last frees the arena. An OutputQueue::Release.
  static void release(void* p) noexcept {
    auto* a = static_cast<FrameArena*>(p);
    if (--a->refs == 0) std::free(a);
  }

  // Copies `frame` into `open` right behind its last frame and returns where it lies. When `open` is
  // null (the iteration's first frame) or the frame does not fit, a new arena takes its place: twice
  // the capacity of the one it replaces (kFirstCapacity for the first), at most kMaxCapacity, never
  // less than the frame; the room's reference to the full one is dropped, so it lives on only while
  // members' segments hold it.
  static const uint8_t* place(FrameArena*& open, std::span<const uint8_t> frame) {
    FrameArena* a = open;
    if (!a || a->capacity - a->used < frame.size()) {
      uint32_t capacity = a ? std::min(a->capacity * 2, kMaxCapacity) : kFirstCapacity;
      capacity = std::max(capacity, static_cast<uint32_t>(frame.size()));
      if (a) release(a);
      a = open = create(capacity);
    }
    uint8_t* at = a->data() + a->used;
    std::memcpy(at, frame.data(), frame.size());
    a->used += static_cast<uint32_t>(frame.size());
    return at;
  }
};

}  // namespace ringcast
