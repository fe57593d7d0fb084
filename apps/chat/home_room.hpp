#pragma once
// HomeRoom: the state of one chat room, kept by the room's home shard (Rooms::home_of) and changed
// only there, so it needs no lock: the last sequence number given, the last kHistory messages, and
// who is in the room — each login name with the number of its connections (a user may have several
// tabs open, on several shards).
//
// History entries are whole `new_message` texts, {"type":"new_message","payload":{...}}, kept in a
// ring of kHistory strings: once the ring is full each new message reuses the oldest string, whose
// capacity is usually enough, so a busy room stops allocating.
//
// Size: about 120 bytes, plus the ring (up to kHistory messages) and the member names.
// Threads: the home shard's only.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::chat {

class HomeRoom {
 public:
  static constexpr size_t kHistory = 50;

  // The number for the next message (1, 2, 3, …).
  uint64_t next_seq() noexcept { return ++seq_; }
  uint64_t last_seq() const noexcept { return seq_; }

  // The string to write the next message into: a new one until the ring is full, then the oldest
  // (cleared, capacity kept).
  std::string& append() {
    if (ring_.size() < kHistory) return ring_.emplace_back();
    std::string& slot = ring_[head_];
    head_ = (head_ + 1) % kHistory;
    slot.clear();
    return slot;
  }

  // Calls fn(message) for the kept messages, oldest first.
  template <typename Fn>
  void for_each_message(Fn&& fn) const {
    for (size_t i = 0; i < ring_.size(); ++i) fn(std::string_view(ring_[(head_ + i) % ring_.size()]));
  }
  size_t history_size() const noexcept { return ring_.size(); }
  // Bytes the history holds (its strings' capacities).
  size_t history_bytes() const noexcept {
    size_t n = 0;
    for (const std::string& s : ring_) n += s.capacity();
    return n;
  }

  // One more connection of `user`; true when it is the user's first here (announce "joined").
  bool add_member(std::string_view user) {
    auto it = members_.find(user);
    if (it == members_.end()) {
      members_.emplace(std::string(user), 1);
      return true;
    }
    ++it->second;
    return false;
  }
  // One connection of `user` fewer; true when it was the user's last (announce "left").
  bool remove_member(std::string_view user) {
    auto it = members_.find(user);
    if (it == members_.end()) return false;
    if (--it->second > 0) return false;
    members_.erase(it);
    return true;
  }
  // Names in order, each once.
  const std::map<std::string, uint32_t, std::less<>>& members() const noexcept { return members_; }
  bool empty() const noexcept { return members_.empty(); }

  // While nobody is in the room: when it became empty (a shard-local tick, 0 while in use) and the
  // bytes its history held then — for evicting the longest-empty rooms.
  uint64_t idle_since = 0;
  size_t idle_bytes = 0;

 private:
  uint64_t seq_ = 0;
  std::vector<std::string> ring_;
  size_t head_ = 0;  // the oldest message once the ring is full
  std::map<std::string, uint32_t, std::less<>> members_;
};

}  // namespace ringcast::chat
