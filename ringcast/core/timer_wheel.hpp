#pragma once
// TimerWheel: a hierarchical hashed timer wheel with 1 ms ticks, owned by one shard (not thread-safe).
//
// Six levels of 64 slots: level L holds timers whose expiry tick first differs from "now" in bits
// [6L, 6L+6). A timer cascades to a lower level when now reaches its slot, and fires from level 0 on
// exactly its tick. Insert, cancel and re-arm are O(1); advancing costs O(timers that cascade or fire);
// `next_expiry` is O(levels) thanks to a bitmap of non-empty slots per level, so an idle shard sleeps
// until the next timer instead of waking every tick. Range: 2^36 ms (about 795 days).
//
// Timers are intrusive: embed a `Timer` (32 bytes) in the owning object, or derive from it. The wheel
// never allocates and never owns timers; a timer must be cancelled before its memory goes away.
#include <cstddef>
#include <cstdint>

namespace ringcast {

class TimerWheel;

struct Timer {
  using Callback = void (*)(Timer&);

  explicit Timer(Callback cb = nullptr) noexcept : callback(cb) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const noexcept { return pprev != nullptr; }

  Timer* next = nullptr;     // next timer in the same slot
  Timer** pprev = nullptr;   // the pointer that points at this timer (slot head or previous->next)
  uint64_t expires = 0;      // absolute tick (ms)
  Callback callback;         // called once when the timer fires; it may re-arm or cancel timers
};
static_assert(sizeof(Timer) == 32);

class TimerWheel {
 public:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr uint64_t kNever = UINT64_MAX;

  explicit TimerWheel(uint64_t now_tick = 0) noexcept : now_(now_tick) {}
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  uint64_t now() const noexcept { return now_; }
  size_t size() const noexcept { return count_; }

  // Arms (or re-arms) `t` to fire at absolute tick `expires`; a tick at or before now fires on the next
  // advance(). The callback must be set.
  void schedule_at(Timer& t, uint64_t expires) noexcept;
  void schedule_in(Timer& t, uint64_t delay_ticks) noexcept { schedule_at(t, now_ + delay_ticks); }
  // Disarms `t`; harmless when it is not armed.
  void cancel(Timer& t) noexcept;

  // Moves time forward to `now_tick` and fires every timer whose tick has come (when time jumps by
  // several ticks, timers of different ticks fire in no particular order). Returns the number fired.
  size_t advance(uint64_t now_tick);

  // The earliest tick at which advance() may have work to do (a fire or a cascade), or kNever.
  uint64_t next_expiry() const noexcept;

 private:
  void insert(Timer& t) noexcept;
  static void link(Timer*& head, Timer& t) noexcept;

  uint64_t now_;
  size_t count_ = 0;
  uint64_t pending_[kLevels] = {};          // bit s set: slots_[level][s] is non-empty
  Timer* slots_[kLevels][kSlots] = {};
  Timer* expired_ = nullptr;                // timers scheduled at or before now, fired on next advance
  Timer* firing_ = nullptr;                 // timers being fired by the current advance
};

}  // namespace ringcast
