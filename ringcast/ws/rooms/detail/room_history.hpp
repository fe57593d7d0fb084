#pragma once
// RoomHistory: the latest messages of one durable room, by offset, in a ring of `capacity` entries.
// On a node without a broker it is the room's log; with one, it mirrors the tail of the log kept in
// Redis, so that most recoveries and replays need no round trip. Entries are the messages as
// published (before the room's stamp); once the ring is full each new entry reuses the oldest one's
// string, so a busy room stops allocating.
//
// Owned by the room's home shard; not thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/codec/opcode.hpp>

namespace ringcast {

class RoomHistory {
 public:
  struct Entry {
    uint64_t offset = 0;
    OpCode op = OpCode::text;
    std::string message;
  };

  explicit RoomHistory(uint32_t capacity = 0) noexcept : capacity_(capacity) {}

  // Adds the entry after the newest one; `offset` is larger than every kept offset (a gap is allowed:
  // a mirror may skip what it could not fetch).
  void append(uint64_t offset, OpCode op, std::string_view message) {
    if (capacity_ == 0) return;
    Entry* e;
    if (ring_.size() < capacity_) {
      e = &ring_.emplace_back();
    } else {
      e = &ring_[head_];
      head_ = (head_ + 1) % ring_.size();
      bytes_ -= e->message.capacity();
    }
    e->offset = offset;
    e->op = op;
    e->message.assign(message);
    bytes_ += e->message.capacity();
  }
  void clear() noexcept {
    ring_.clear();
    head_ = 0;
    bytes_ = 0;
  }

  size_t size() const noexcept { return ring_.size(); }
  bool empty() const noexcept { return ring_.empty(); }
  const Entry& at(size_t i) const noexcept { return ring_[(head_ + i) % ring_.size()]; }  // 0: oldest
  const Entry& newest() const noexcept { return at(ring_.size() - 1); }
  uint64_t oldest_offset() const noexcept { return ring_.empty() ? 0 : at(0).offset; }
  uint64_t newest_offset() const noexcept { return ring_.empty() ? 0 : newest().offset; }
  // Bytes the kept messages hold.
  size_t bytes() const noexcept { return bytes_; }

  // True when the ring holds every offset in (after, newest_offset()] with no gap, so that a reader at
  // `after` can be brought up to date from here alone.
  bool covers_after(uint64_t after) const noexcept {
    if (after >= newest_offset()) return true;
    if (after + 1 < oldest_offset()) return false;
    return newest_offset() - oldest_offset() + 1 == ring_.size();  // contiguous
  }
  // Index of the first entry with an offset above `after` (size() when none).
  size_t first_after(uint64_t after) const noexcept {
    size_t lo = 0, hi = ring_.size();
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (at(mid).offset <= after) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

 private:
  uint32_t capacity_;
  std::vector<Entry> ring_;
  size_t head_ = 0;  // the oldest entry once the ring is full
  size_t bytes_ = 0;
};

}  // namespace ringcast
