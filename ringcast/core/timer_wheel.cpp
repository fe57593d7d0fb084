#include <ringcast/core/timer_wheel.hpp>

#include <bit>
#include <cassert>
#include <functional>

namespace ringcast {
namespace {

constexpr uint64_t kMaxDelay = (uint64_t{1} << (TimerWheel::kLevels * TimerWheel::kSlotBits)) - 1;

void unlink(Timer& t) noexcept {
  *t.pprev = t.next;
  if (t.next) t.next->pprev = t.pprev;
  t.next = nullptr;
  t.pprev = nullptr;
}

}  // namespace

void TimerWheel::link(Timer*& head, Timer& t) noexcept {
  t.next = head;
  if (head) head->pprev = &t.next;
  head = &t;
  t.pprev = &head;
}

void TimerWheel::schedule_at(Timer& t, uint64_t expires) noexcept {
  assert(t.callback && "a timer needs a callback");
  cancel(t);
  if (expires > now_ + kMaxDelay) expires = now_ + kMaxDelay;  // ~795 days: clamped
  t.expires = expires;
  ++count_;
  insert(t);
}

void TimerWheel::insert(Timer& t) noexcept {
  if (t.expires <= now_) {
    link(expired_, t);
    return;
  }
  // The level is the 6-bit group in which the expiry first differs from now; within that level the
  // slot is always ahead of now's slot, so a level's non-empty slots never wrap past its cursor.
  const int level = (63 - std::countl_zero(t.expires ^ now_)) / kSlotBits;
  const int slot = static_cast<int>((t.expires >> (level * kSlotBits)) & (kSlots - 1));
  link(slots_[level][slot], t);
  pending_[level] |= uint64_t{1} << slot;
}

void TimerWheel::cancel(Timer& t) noexcept {
  if (!t.armed()) return;
  // A timer that is last in a wheel slot leaves that slot empty: clear its pending bit. The slot is
  // found from the address pprev points at, so a Timer needs no level/slot field of its own.
  if (!t.next) {
    auto first = reinterpret_cast<uintptr_t>(&slots_[0][0]);
    auto p = reinterpret_cast<uintptr_t>(t.pprev);
    if (p >= first && p < first + sizeof(slots_) && *t.pprev == &t) {
      const size_t index = (p - first) / sizeof(Timer*);
      pending_[index / kSlots] &= ~(uint64_t{1} << (index % kSlots));
    }
  }
  unlink(t);
  --count_;
}

size_t TimerWheel::advance(uint64_t now_tick) {
  if (now_tick < now_) now_tick = now_;
  // Collect every slot whose span (from, to] crosses, level by level: those timers either fire or
  // cascade to a lower level. A level whose cursor does not move leaves every higher level unmoved.
  Timer* todo = nullptr;
  const uint64_t from = now_;
  for (int level = 0; level < kLevels; ++level) {
    const int shift = level * kSlotBits;
    const uint64_t f = from >> shift;
    const uint64_t to = now_tick >> shift;
    if (f == to) break;
    const uint64_t steps = to - f;
    uint64_t mask = ~uint64_t{0};
    if (steps < kSlots) mask = std::rotl((uint64_t{1} << steps) - 1, static_cast<int>((f + 1) & (kSlots - 1)));
    uint64_t due = pending_[level] & mask;
    pending_[level] &= ~due;
    while (due) {
      const int slot = std::countr_zero(due);
      due &= due - 1;
      // Splice the whole slot list onto todo.
      Timer* head = slots_[level][slot];
      slots_[level][slot] = nullptr;
      while (head) {
        Timer* next = head->next;
        head->pprev = nullptr;
        head->next = nullptr;
        link(todo, *head);
        head = next;
      }
    }
  }
  now_ = now_tick;
  while (todo) {
    Timer& t = *todo;
    unlink(t);
    insert(t);  // lands on a lower level, or on the expired list when its tick has come
  }

  // Fire. A callback may cancel or schedule any timer, including ones still waiting here: each is
  // unlinked before its callback runs, and cancel() works on the firing list like on any slot.
  // Timers that callbacks schedule for now or earlier wait for the next advance(), so a timer that
  // re-arms itself with no delay cannot spin here forever.
  firing_ = expired_;
  expired_ = nullptr;
  if (firing_) firing_->pprev = &firing_;
  size_t fired = 0;
  while (firing_) {
    Timer& t = *firing_;
    unlink(t);
    --count_;
    ++fired;
    t.callback(t);
  }
  return fired;
}

uint64_t TimerWheel::next_expiry() const noexcept {
  if (expired_) return now_;
  uint64_t best = kNever;
  for (int level = 0; level < kLevels; ++level) {
    if (!pending_[level]) continue;
    const int shift = level * kSlotBits;
    const uint64_t cursor = (now_ >> shift) & (kSlots - 1);
    const uint64_t ahead = cursor == kSlots - 1 ? 0 : pending_[level] & (~uint64_t{0} << (cursor + 1));
    assert(ahead == pending_[level] && "a level's timers are always ahead of its cursor");
    if (!ahead) return now_;  // defensive: process on the next advance
    const uint64_t distance = static_cast<uint64_t>(std::countr_zero(ahead)) - cursor;
    const uint64_t tick = ((now_ >> shift) + distance) << shift;
    if (tick < best) best = tick;
  }
  return best;
}

}  // namespace ringcast
