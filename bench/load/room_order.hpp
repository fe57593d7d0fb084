#pragma once
// RoomOrder: checks that a room has one order — that every member saw the same message at each of
// the room's positions — while members on several threads receive, without a lock or a record of
// the whole stream. A position is a key (the room with (epoch, seq) for the chat; the message a
// member saw just before, for rooms whose messages carry no position); what was seen there is a
// 32-bit hash. The first member to reach a position writes its hash into the position's slot; every
// later one compares. A slot holds one position at a time, so a member more than `slots` positions
// behind the first finds it taken by a later one and is not compared (counted as unchecked, not as a
// violation). A different hash is a violation: two members saw different messages at one position.
//
// It also times the room: the longest a room went without a new position (a failover's stall).
//
// Memory: 8 bytes a slot (2 MiB for the default 2^18), whatever the run's length. Any thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ringcast::load {

class RoomOrder {
 public:
  enum class Seen { first, same, different, unchecked };

  explicit RoomOrder(uint32_t rooms, unsigned log2_slots = 18)
      : mask_((uint64_t{1} << log2_slots) - 1),
        slots_(std::make_unique<std::atomic<uint64_t>[]>(mask_ + 1)),
        last_new_(std::make_unique<std::atomic<int64_t>[]>(rooms)) {}

  // What a member saw at `position`: `hash` (any 32 bits).
  Seen check(uint64_t position, uint32_t hash) noexcept {
    const uint64_t mixed = mix(position);
    const uint64_t tag = (mixed >> 32) | 1;  // never 0: 0 is an empty slot
    const uint64_t want = tag << 32 | hash;
    std::atomic<uint64_t>& slot = slots_[mixed & mask_];
    uint64_t had = slot.load(std::memory_order_acquire);
    for (;;) {
      if (had >> 32 == tag) return static_cast<uint32_t>(had) == hash ? Seen::same : Seen::different;
      if (had != 0) {
        // Another position's: this member is far behind it (or far ahead: then it takes the slot).
        if (slot.compare_exchange_weak(had, want, std::memory_order_acq_rel)) return Seen::unchecked;
        continue;
      }
      if (slot.compare_exchange_weak(had, want, std::memory_order_acq_rel)) return Seen::first;
    }
  }

  // A member was the first to see a new position of `room` at `now_ns`: how long the room had gone
  // without one (0 for its first).
  uint64_t advance(uint32_t room, int64_t now_ns) noexcept {
    const int64_t before = last_new_[room].exchange(now_ns, std::memory_order_relaxed);
    return before && now_ns > before ? static_cast<uint64_t>(now_ns - before) : 0;
  }

  static uint64_t mix(uint64_t x) noexcept {  // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  static uint32_t hash(std::string_view s) noexcept {  // FNV-1a
    uint32_t h = 2166136261u;
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    return h;
  }

 private:
  uint64_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::unique_ptr<std::atomic<int64_t>[]> last_new_;  // per room: when a member first saw its latest position
};

}  // namespace ringcast::load
