#pragma once
// PublishOutcome: what became of one published message, for a publisher that asked (the on_done of
// Rooms::publish, publish_sequenced, App::publish, WebSocketBase::publish). RoomReport (room_report.hpp)
// counts the same outcomes per room, for anyone.
//
// What ringcast guarantees a publisher:
//  - A message is encoded once and handed once to every shard of this node where the room has members;
//    each offers it once to each of its members. Nothing is ever retried or sent twice to a member.
//  - "Delivered" means queued to the member's connection (it leaves in that loop iteration's send), not
//    read by the client: bytes a connection loses when it dies are lost like any other.
//  - A member whose queue and the message would pass its route's max_backpressure does not get it: it
//    is skipped (SlowConsumer::skip) or closed with 1008 (SlowConsumer::close, the default) — counted
//    either way. Every other member got it. Publishing again to make up for them sends it twice to
//    every member that got it: don't. In a live room a member that missed a message cannot get it
//    from the room. In a durable room a member that was closed comes back with its last position
//    (SubscribeOptions::since) and gets exactly what it missed from the log, nobody else gets anything
//    twice: the way to have every member get every message once. (A durable room with
//    SlowConsumer::skip leaves a skipped member a gap it is not told of: keep `close` for them.)
//  - Members still joining a durable room are not counted: the message comes before their live stream
//    (in their replay, when the replay they asked for reaches back to it).
//  - Refused (or publish returned false): nobody got it and nobody will; publishing again is safe.
//  - Unknown (a durable room with a broker whose log's answer was lost): it may be in the log, and then
//    every member gets it. Publishing again may deliver it twice; to retry safely, put an id in the
//    message and let clients drop repeats (ringcast does not).
//
// Scope: counts are this node's. With a broker, a live message also goes to Redis for the other nodes
// (what they deliver is counted there; broker_dropped_total counts what Redis did not take).
#include <cstdint>
#include <functional>

#include <ringcast/ws/rooms/position.hpp>

namespace ringcast {

enum class PublishStatus : uint8_t {
  // Offered to every member of the room on this node (the counts say what each shard made of it).
  fanned_out,
  // A durable room with a broker: in the room's log at `position`. Every node, this one too, fans it
  // out as the log's channel brings it back; those deliveries are counted in the room's report, not
  // here.
  logged,
  // Not published: nobody got it and nobody will (a durable room's log did not take it).
  refused,
  // A durable room with a broker: the log's answer was lost (its connection went). It may be logged.
  unknown,
};

struct PublishOutcome {
  PublishStatus status = PublishStatus::fanned_out;
  // Durable rooms: the message's place in the room's log, epoch and offset (fanned_out, logged);
  // sequenced rooms: {0, its number}; live rooms and refused messages: {0, 0}.
  Position position;
  uint32_t shards = 0;        // shards that had members of the room when the message reached them
  uint64_t deliveries = 0;    // members it was queued to
  uint64_t skipped_slow = 0;  // members that did not get it: over their budget (SlowConsumer::skip)
  uint64_t closed_slow = 0;   // members closed with 1008 instead of getting it (SlowConsumer::close)
};

// Runs once, on the shard that published (App::publish from another thread: the room's home shard),
// never inside the publish call itself: after every shard with members has fanned the message out, or
// (durable rooms with a broker) once the log has answered. It does not run when publish returned false,
// nor when the app stops before the outcome is known.
using PublishDone = std::function<void(const PublishOutcome&)>;

}  // namespace ringcast
