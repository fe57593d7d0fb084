#pragma once
// WebSocketExtras: what a WebSocket needs only sometimes — its room memberships (and, with
// permessage-deflate, its compression state). Allocated on first use, freed with the socket, so an
// idle socket in no room pays one null pointer.
#include <cstdint>
#include <vector>

namespace ringcast {

struct RoomEntry;

struct Subscription {
  RoomEntry* room;
  uint32_t member;  // index of the socket in the room's member list on this shard
};

struct WebSocketExtras {
  std::vector<Subscription> subscriptions;
};

}  // namespace ringcast
