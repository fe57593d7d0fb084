#pragma once
// WebSocketExtras: what a WebSocket needs only sometimes — its room memberships (and, with
// permessage-deflate, its compression state). Allocated on first use, freed with the socket, so an
// idle socket in no room pays one null pointer.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringcast/core/token_bucket.hpp>
#include <ringcast/ws/deflate/detail/inflater.hpp>
#include <ringcast/ws/deflate/permessage_deflate.hpp>

namespace ringcast {

struct RoomEntry;

struct Subscription {
  RoomEntry* room;
  uint32_t member;  // index of the socket in the room's member list on this shard
  std::unique_ptr<std::string> presence;  // the user this socket counts as in a durable room's presence
};

struct WebSocketExtras {
  std::vector<Subscription> subscriptions;
  DeflateAgreement deflate;  // permessage-deflate as agreed in the handshake (5 bytes)
  Inflater inflater;         // 8 bytes; holds a zlib stream only while needed (see inflater.hpp)
  TokenBucket inflate_budget;  // bytes it may inflate (WebSocketOptions::max_inflate_rate)
};

}  // namespace ringcast
