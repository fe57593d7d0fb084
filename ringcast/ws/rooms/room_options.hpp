#pragma once
// RoomOptions: what kind of room a room is and how it treats its members (App::room_options for one
// room, App::default_room_options for the rest).
//
// Two kinds:
//   live     messages go to whoever is a member when they arrive and are kept nowhere. Cheapest: the
//            bench protocol, a game's snapshots, anything a late joiner need not see. Messages of one
//            publisher reach every member in publish order.
//   durable  messages are numbered in one order for every member on every shard (and, with a broker,
//            every node), the latest history_size are kept, and a socket can join with a position and
//            get what it missed (SubscribeOptions). Every message goes through the room's home shard.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringcast {

// Hashing for maps keyed by room name that are searched with string_views (no temporary strings).
struct RoomNameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename T>
using RoomNameMap = std::unordered_map<std::string, T, RoomNameHash, std::equal_to<>>;

enum class SlowConsumer : uint8_t { close, skip };
enum class RoomKind : uint8_t { live, durable };

struct RoomOptions {
  // A member whose queued bytes and the frame would pass its route's max_backpressure is closed with
  // 1008, or skipped (that publication) and counted.
  SlowConsumer slow_consumer = SlowConsumer::close;
  RoomKind kind = RoomKind::live;
  // Durable rooms: how many of the latest messages are kept for replay and recovery, and (with a
  // broker) how long a log lives in Redis after its last message.
  uint32_t history_size = 100;
  std::chrono::seconds history_ttl{24 * 3600};
  // Sequenced and durable rooms: builds the message members receive from its number (a durable room's
  // offset). Runs on the room's home shard (durable: also for replayed messages). Absent: the message
  // goes out as published.
  std::function<std::string(std::string_view room, uint64_t seq, std::string_view message)> stamp;
  // Durable rooms with presence (SubscribeOptions::presence): the message members receive when a user
  // joins (their first socket in the room) or leaves (their last). Not kept in the history. Absent:
  // presence is counted but not announced.
  std::function<std::string(std::string_view room, std::string_view user, bool joined)> presence_message;
};

}  // namespace ringcast
