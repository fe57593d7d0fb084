#pragma once
// Simulation: the world of one match — its players' positions and intents, moved one tick at a time,
// and the SNAPSHOT that describes them (apps/game/PROTOCOL.md). Owned by the match's home shard and
// touched by that shard's thread only; holds no I/O, so it is tested on its own.
//
// Movement: held keys move a player in their summed direction (opposite keys cancel; diagonals are
// normalised to the same speed); a target moves it straight toward the point and stops on it. Each
// tick moves at most kSpeed / tick_hz units; positions are clamped to the world. A player's heading
// is the direction of its last actual movement.
//
// Size: 28 bytes per player (PlayerState); a match of 64 players steps in well under a microsecond.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/game/protocol.hpp"

namespace ringcast::game {

struct PlayerState {
  uint32_t id = 0;
  float x = 0;
  float y = 0;
  float target_x = 0;
  float target_y = 0;
  uint16_t heading = 0;
  uint8_t colour = 0;
  uint8_t keys = 0;        // kKey* bits held (ignored while seeking a target)
  bool seeking = false;    // walking to (target_x, target_y)
  bool moving = false;     // moved during the last tick
};
static_assert(sizeof(PlayerState) == 28);

class Simulation {
 public:
  // `tick_hz` > 0: how many times per second step() runs.
  explicit Simulation(unsigned tick_hz) : step_(kSpeed / static_cast<float>(tick_hz)) {}

  // Adds a player at (x, y); the id must not be in the match.
  PlayerState& add(uint32_t id, float x, float y, uint8_t colour) {
    PlayerState p;
    p.id = id;
    p.x = std::clamp(x, 0.0f, kWorldWidth);
    p.y = std::clamp(y, 0.0f, kWorldHeight);
    p.colour = static_cast<uint8_t>(colour % kColours);
    players_.push_back(p);
    return players_.back();
  }

  // Removes a player; false when it was not in the match. Keeps the others in joining order.
  bool remove(uint32_t id) {
    auto it = std::find_if(players_.begin(), players_.end(), [id](const PlayerState& p) { return p.id == id; });
    if (it == players_.end()) return false;
    players_.erase(it);
    return true;
  }

  PlayerState* find(uint32_t id) noexcept {
    for (PlayerState& p : players_) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  // Applies an input from player `id`; false when the player is not in the match.
  bool apply(uint32_t id, const Input& in) noexcept {
    PlayerState* p = find(id);
    if (!p) return false;
    if (in.kind == Input::Kind::keys) {
      p->keys = in.keys;   // INPUT_KEYS cancels a target
      p->seeking = false;
    } else {
      p->keys = 0;         // INPUT_TARGET replaces the held keys
      p->seeking = true;
      p->target_x = std::clamp(in.x, 0.0f, kWorldWidth);
      p->target_y = std::clamp(in.y, 0.0f, kWorldHeight);
    }
    return true;
  }

  // Advances the world by one tick.
  void step() noexcept {
    for (PlayerState& p : players_) move(p);
    ++tick_;
  }

  // Writes the SNAPSHOT of the current tick into `out` (replacing its contents; no allocation once
  // `out` has grown to the largest match).
  void encode_snapshot(std::string& out) const {
    out.resize(kSnapshotHeaderSize + kSnapshotRecordSize * players_.size());
    char* m = out.data();
    put_u8(m, kSnapshot);
    put_u8(m + 1, 0);
    put_u16(m + 2, static_cast<uint16_t>(players_.size()));
    put_u32(m + 4, tick_);
    char* r = m + kSnapshotHeaderSize;
    for (const PlayerState& p : players_) {
      put_u32(r, p.id);
      put_f32(r + 4, p.x);
      put_f32(r + 8, p.y);
      put_u16(r + 12, p.heading);
      put_u8(r + 14, p.colour);
      put_u8(r + 15, p.moving ? kFlagMoving : 0);
      r += kSnapshotRecordSize;
    }
  }

  // The colour fewest players wear (the lowest index among equals).
  uint8_t least_used_colour() const noexcept {
    unsigned uses[kColours] = {};
    for (const PlayerState& p : players_) ++uses[p.colour % kColours];
    return static_cast<uint8_t>(std::min_element(uses, uses + kColours) - uses);
  }

  uint32_t tick() const noexcept { return tick_; }
  size_t size() const noexcept { return players_.size(); }
  bool empty() const noexcept { return players_.empty(); }
  const std::vector<PlayerState>& players() const noexcept { return players_; }
  float step_length() const noexcept { return step_; }

 private:
  void move(PlayerState& p) const noexcept {
    float nx = p.x, ny = p.y;
    if (p.seeking) {
      const float dx = p.target_x - p.x, dy = p.target_y - p.y;
      const float dist = std::hypot(dx, dy);
      if (dist <= step_) {
        nx = p.target_x;
        ny = p.target_y;
        p.seeking = false;  // arrived: stop on the point
      } else {
        nx = p.x + dx / dist * step_;
        ny = p.y + dy / dist * step_;
      }
    } else if (p.keys != 0) {
      const int kx = ((p.keys & kKeyRight) ? 1 : 0) - ((p.keys & kKeyLeft) ? 1 : 0);
      const int ky = ((p.keys & kKeyDown) ? 1 : 0) - ((p.keys & kKeyUp) ? 1 : 0);
      if (kx != 0 || ky != 0) {
        const float unit = (kx != 0 && ky != 0) ? step_ / std::sqrt(2.0f) : step_;
        nx = p.x + static_cast<float>(kx) * unit;
        ny = p.y + static_cast<float>(ky) * unit;
      }
    }
    nx = std::clamp(nx, 0.0f, kWorldWidth);
    ny = std::clamp(ny, 0.0f, kWorldHeight);
    const float mx = nx - p.x, my = ny - p.y;
    p.moving = mx != 0.0f || my != 0.0f;
    if (p.moving) p.heading = heading_of(mx, my);
    p.x = nx;
    p.y = ny;
  }

  float step_;                        // units per tick
  uint32_t tick_ = 0;                 // ticks run so far
  std::vector<PlayerState> players_;  // in joining order
};

}  // namespace ringcast::game
