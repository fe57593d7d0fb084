#pragma once
// Positions in a durable room's log, and how a socket joins such a room.
//
// A durable room (RoomKind::durable) numbers its messages 1, 2, 3, … in one order for every member
// on every shard and node: that number is the message's offset. The epoch names the log the offsets
// belong to; it changes when the log starts over (its store lost it, or it expired), so a client
// that keeps (epoch, offset) of the last message it saw can ask for exactly what it missed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

struct Position {
  uint64_t epoch = 0;   // 0: none yet
  uint64_t offset = 0;  // the last message: 0 before the first

  friend bool operator==(const Position&, const Position&) = default;
};

// How WebSocketBase::subscribe joins a durable room (live rooms ignore it).
struct SubscribeOptions {
  // Recover from here: every message after this position is sent before the live stream, when the log
  // still holds them all (SubscribeResult::recovered); otherwise the `tail` is.
  std::optional<Position> since;
  // Without `since`, or when it cannot be recovered: send this many of the latest messages first.
  uint32_t tail = 0;
  // Counts the socket in the room's presence as this user (a login name, say): the room announces a
  // user's first socket and last socket (RoomOptions::presence_message), whatever shard or node they
  // are on, and SubscribeResult::members lists the users. Empty: not counted.
  std::string_view presence;
};

// What the behavior's on_subscribed learns when the live stream of a durable room starts for a
// socket (right before the replayed messages are sent, so what it sends comes first). It runs again
// with recovered = false if the stream later breaks beyond repair (the log lost messages this node
// had not delivered): the socket stays subscribed and goes on from `position`.
struct SubscribeResult {
  Position position;      // the room's last message before the live stream
  bool recovered = true;  // everything after `since` was sent (true when no `since` was asked for)
  uint32_t replayed = 0;  // messages sent before the live stream
  // The room's users, in order, each once, when the socket joined with a presence identity.
  std::vector<std::string> members;
};

}  // namespace ringcast
