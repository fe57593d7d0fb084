#pragma once
// Admission: how many seats each match has taken, so that an upgrade on any shard can be refused at
// once — 403 when its match is full, 503 when it would open a match beyond the server's max_matches
// (each match ticks at the tick rate whoever is in it: the cap bounds the CPU that joining costs) — the
// match itself lives on its home shard, which an upgrade cannot wait for.
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

enum class Seat : uint8_t {
  taken,             // the caller holds a seat
  match_full,        // every seat of the match is taken
  too_many_matches,  // the match would be a new one, and max_matches are open
};

class Admission {
 public:
  Admission(unsigned max_players, unsigned max_matches) : max_players_(max_players), max_matches_(max_matches) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // Takes a seat in `match`.
  Seat reserve(std::string_view match) {
    std::lock_guard lock(mutex_);
    auto it = seats_.find(match);
    if (it == seats_.end()) {
      if (max_players_ == 0) return Seat::match_full;
      if (seats_.size() >= max_matches_) return Seat::too_many_matches;
      seats_.emplace(std::string(match), 1u);
      return Seat::taken;
    }
    if (it->second >= max_players_) return Seat::match_full;
    ++it->second;
    return Seat::taken;
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
  // Matches with a seat taken: the ones that tick, or are about to.
  size_t matches() const {
    std::lock_guard lock(mutex_);
    return seats_.size();
  }

 private:
  const unsigned max_players_;
  const unsigned max_matches_;
  mutable std::mutex mutex_;
  RoomNameMap<unsigned> seats_;
};

}  // namespace ringcast::game
