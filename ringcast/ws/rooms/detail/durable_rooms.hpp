#pragma once
// DurableRooms: the home shard's side of the durable rooms (RoomKind::durable) whose home
// (Rooms::home_of) is this shard. One per shard, owned by its Rooms; everything here runs on that
// shard's thread.
//
// Publishing: every message of a durable room is sent to its home shard, which gives it the room's next
// offset, keeps it in the room's history and publishes it — stamped (RoomOptions::stamp) with its
// offset — to the members on every shard. One publisher per room, so one order for every member.
// The publication is an ordinary room publication from there on (encoded once, fanned out per shard).
//
// Joining (catch_up): a socket that joins a durable room on shard S is a *pending* member there: S
// already counts as having members (so the home forwards publications to it) but skips the socket when
// fanning out. S asks the home for a catch-up; the home answers with the socket's replay — every
// message after `since` when the history still holds them all, else the latest `tail` — and its current
// position, in one task to S (Rooms::activate). The mesh is FIFO per pair of shards, so publications the
// home made before answering reach S before the answer (the socket skips them: the replay holds them),
// and those made after it reach S after (the socket, now a member, gets them): no gap, no duplicate.
//
// Presence: the home counts each room's sockets per user (SubscribeOptions::presence); a user's first
// socket and last socket are announced to the room (RoomOptions::presence_message), once whatever their
// shards, and a joining socket gets the list of users with its answer.
//
// Memory: each room keeps its latest RoomOptions::history_size messages. Past
// RoomNetwork::durable_memory bytes on this shard, the least recently used rooms nobody is in are forgotten
// (a room forgotten and used again starts a new epoch: its members are told it could not be
// recovered).
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/rooms/detail/room_history.hpp>
#include <ringcast/ws/rooms/position.hpp>
#include <ringcast/ws/rooms/room_options.hpp>

namespace ringcast {

class Rooms;
class RoomNetwork;
class Shard;

class DurableRooms {
 public:
  // A pending member's request, from shard `from` to the room's home.
  struct CatchUp {
    std::string room;
    uint64_t token;  // names the pending membership on `from`
    unsigned from;
    std::optional<Position> since;
    uint32_t tail;
    std::string presence;  // the user the socket counts as ("": none)
  };

  DurableRooms(Rooms& rooms, RoomNetwork& network, Shard& shard);
  DurableRooms(const DurableRooms&) = delete;
  DurableRooms& operator=(const DurableRooms&) = delete;

  // A publish of `room` reached its home (this shard).
  void append(std::string_view room, std::string_view message, OpCode op);
  // A pending member asks for its replay; answered with Rooms::activate on its shard.
  void catch_up(std::unique_ptr<CatchUp> request);
  // A socket counted as `user` left the room (or closed).
  void leave(std::string_view room, std::string_view user);

  // The room's position here (epoch 0 when this shard keeps no log of it).
  Position position(std::string_view room) const;
  size_t rooms() const noexcept { return by_name_.size(); }
  size_t bytes() const noexcept { return bytes_; }

 private:
  struct Room {
    uint64_t epoch = 0;
    uint64_t top = 0;  // offset of the last message published to the members
    RoomHistory history;
    std::map<std::string, uint32_t, std::less<>> members;  // presence: sockets per user
    std::list<std::string>::iterator lru;  // this room's place in lru_ (front: least recently used)
  };

  Room& room(std::string_view name, const RoomOptions& options);
  void touch(Room& room);
  void evict();
  // The frames of `room`'s history after offset `after` (its latest `tail` when `after` is absent),
  // stamped as members receive them, in one buffer; null when there are none. `count` gets how many.
  SharedBuffer* replay(std::string_view name, const Room& room, const RoomOptions& options,
                       std::optional<uint64_t> after, uint32_t tail, uint32_t& count) const;
  uint64_t new_epoch() noexcept;
  void announce(std::string_view name, const RoomOptions& options, std::string_view user, bool joined);

  Rooms& rooms_;
  RoomNetwork& network_;
  Shard& shard_;
  RoomNameMap<std::unique_ptr<Room>> by_name_;
  std::list<std::string> lru_;
  size_t bytes_ = 0;
  uint64_t random_;
};

}  // namespace ringcast
