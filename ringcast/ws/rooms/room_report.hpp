#pragma once
// RoomReport: what became of a room's messages on this node (Rooms::report, App::room_report): the
// per-room side of PublishOutcome (publish_outcome.hpp says what the counts mean and what ringcast
// guarantees a publisher).
#include <cstdint>

namespace ringcast {

// A room's outcomes on this node, summed over its shards. Counted on each shard with the room's own
// state there — a few additions per fan-out, none per member beyond the fan-out's own loop — and
// forgotten with it: a room is known while this node has members in it (every shard knows it then),
// and a room nobody here is in reports zeros. A report covers the room since it last gained its first
// member on this node.
struct RoomReport {
  uint64_t members = 0;        // members on this node now (joining ones of a durable room included)
  uint32_t shards = 0;         // shards with members now
  // The room's share of the node-wide counters of the same names (/metrics: ringcast_room_published_total
  // and so on; per-room labels are left out of /metrics, which must not grow with the rooms).
  uint64_t published = 0;      // messages whose fan-out started here: live ones where they were
                               // published, sequenced and durable ones at the room's home shard (with
                               // a broker: every message of a durable room's log, whoever published it)
  uint64_t broker_in = 0;      // live messages other nodes published, fanned out here
  uint64_t deliveries = 0;     // members a message was queued to
  uint64_t skipped_slow = 0;   // members that did not get a message: over their budget (skip)
  uint64_t closed_slow = 0;    // members closed for being over their budget (close)
  uint64_t append_failed = 0;  // durable rooms with a broker: messages the log did not take, or whose
                               // answer was lost (counted at the room's home shard)

  RoomReport& operator+=(const RoomReport& o) noexcept {
    members += o.members;
    shards += o.shards;
    published += o.published;
    broker_in += o.broker_in;
    deliveries += o.deliveries;
    skipped_slow += o.skipped_slow;
    closed_slow += o.closed_slow;
    append_failed += o.append_failed;
    return *this;
  }
};

}  // namespace ringcast
