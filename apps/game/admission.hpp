#pragma once
// Admission: how many seats each match has taken, so that an upgrade on any shard can be refused
// with 403 at once when its match is full — the match itself lives on its home shard, which an
// upgrade cannot wait for.
//
// A seat is taken by the upgrade (reserve) and given back when the home shard removes the player,
// or when the join never reaches it (release). Counts cover players in the match and joins on
// their way to it, so a match never holds more than max_players.
//
// Threads: any; one mutex, taken once per upgrade and once per departure (never per message).
// Memory: one entry per match with seats taken; an entry goes away with its last seat.
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast::game {

class Admission {
 public:
  explicit Admission(unsigned max_players) : max_players_(max_players) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // Takes a seat in `match`; false when every seat is taken.
  bool reserve(std::string_view match) {
    std::lock_guard lock(mutex_);
    auto it = seats_.find(match);
    if (it == seats_.end()) {
      if (max_players_ == 0) return false;
      seats_.emplace(std::string(match), 1u);
      return true;
    }
    if (it->second >= max_players_) return false;
    ++it->second;
    return true;
  }

  // Gives back a seat taken with reserve().
  void release(std::string_view match) {
    std::lock_guard lock(mutex_);
    auto it = seats_.find(match);
    if (it == seats_.end()) return;
    if (--it->second == 0) seats_.erase(it);
  }

  unsigned taken(std::string_view match) const {
    std::lock_guard lock(mutex_);
    auto it = seats_.find(match);
    return it == seats_.end() ? 0 : it->second;
  }

  unsigned max_players() const noexcept { return max_players_; }

 private:
  const unsigned max_players_;
  mutable std::mutex mutex_;
  RoomNameMap<unsigned> seats_;
};

}  // namespace ringcast::game
