#pragma once
// RedisRooms: a node's rooms in Redis, on one shard — the DurableLog of its durable rooms, and the way
// its live rooms reach other nodes. One per shard (inside its Rooms); it speaks for the rooms whose home
// is this shard, and uses the shard's thread only.
//
// Partitions. Rooms are spread over RoomNetwork::partitions partitions by a hash of their name
// (room_partition.hpp); a room's home shard is its partition modulo the shards, so each partition is
// handled by one shard per node. Partition p has one channel, `<prefix>{<tag p>}c`, and its rooms' keys
// carry the same hash tag (redis_scripts.hpp): in a Redis Cluster a room's log, its presence and its
// channel share a slot. The shard subscribes (SSUBSCRIBE, sharded pub/sub) to a partition's channel while
// it has a room there with members on this node, and filters by room.
//
// Durable rooms append and read through Lua scripts (one round trip each, atomic in Redis) and get their
// messages back from the channel, with their positions; see DurableRooms. Live rooms publish with
// SPUBLISH: a live message carries this node's id, so its own messages coming back are skipped (they
// were delivered here already). Messages of one publisher reach every node in publish order; nothing
// of a live room is kept, so what is published while a node's subscription is down is lost to that
// node (counted by the publisher side only as far as it knows: `dropped` when its own connection is
// down or full).
//
// Redis itself is reached through RedisCluster (one server or a Redis Cluster, alike): commands are
// routed to the node that holds their room, pipelined (everything written in one loop iteration leaves
// in one send) and answered in order; a partition's subscription follows its slot, and every time it
// was (or may have been) lost and is back, the durable rooms hear that their partition is ready again
// and read what they missed. A durable append that did not reach Redis, or whose answer was lost, is
// counted as failed; reads are retried.
//
// Liveness: the shard's RedisCluster probes every subscriber connection it holds (BrokerOptions::
// probe_interval, probe_timeout; probe channels `<prefix>probe:<node id>:<shard>{tag}`), so a
// subscription that silently stopped delivering is dropped and made again — the durable rooms then
// read what they missed, as after any loss — and GET /ready tells a node whose delivery is unproven.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/net/redis/redis_cluster.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/rooms/broker_options.hpp>
#include <ringcast/ws/rooms/detail/durable_log.hpp>
#include <ringcast/ws/rooms/room_options.hpp>

namespace ringcast {

class DurableRooms;
class Loop;
class Rooms;

struct RedisRoomsStats {
  Counter live_published;   // live messages written to Redis
  Counter live_received;    // live messages from other nodes delivered to local members
  Counter echoes;           // this node's own live messages back from Redis (skipped)
  Counter dropped;          // live messages not sent: Redis unreachable, or too much queued for it
  Counter unconfirmed;      // live messages written whose connection went before Redis answered
  Counter live_lost;        // live messages of other nodes that never came (gaps in their numbering)
  Counter duplicates;       // live messages that came twice (dropped the second time)
  Counter durable_received; // durable-room messages read from channels
  Counter presence_events;  // presence changes read from channels
  Counter malformed;        // channel messages that are not ringcast envelopes (or invalid UTF-8 text)
  Counter errors;           // error replies from Redis
  Counter partitions;       // gauge: partition channels this shard wants subscribed
};

class RedisRooms final : public DurableLog {
 public:
  RedisRooms(const BrokerOptions& options, Rooms& rooms, DurableRooms& durable, Loop& loop, unsigned partitions);
  ~RedisRooms() override;
  RedisRooms(const RedisRooms&) = delete;
  RedisRooms& operator=(const RedisRooms&) = delete;

  void start();
  void stop();

  uint64_t node_id() const noexcept { return options_.node_id; }
  const RedisRoomsStats& stats() const noexcept { return stats_; }
  const RedisClusterStats& redis_stats() const noexcept { return redis_.stats(); }
  // The shard's Redis client, which the application may use for keys of its own (App::redis).
  RedisCluster& redis() noexcept { return redis_; }

  // ---- Live rooms, on the room's home shard ----
  void room_added(std::string_view room) { watch(room); }
  void room_removed(std::string_view room) { unwatch(room); }
  void publish_live(std::string_view room, std::string_view message, OpCode op);

  // ---- DurableLog ----
  unsigned partition_of(std::string_view room) const noexcept override;
  void watch(std::string_view room) override;
  void unwatch(std::string_view room) override;
  bool ready(unsigned partition) const noexcept override;
  void append(std::string_view room, std::string_view message, OpCode op, Position known, uint64_t term,
              uint64_t new_epoch, uint64_t request) override;
  void read(std::string_view room, std::optional<uint64_t> after, uint32_t count, uint64_t new_epoch, uint64_t epoch,
            uint64_t term, uint64_t request) override;
  void presence(PresenceOp op, std::string_view room, std::span<const std::string> entries, uint64_t request) override;

  // The channel of a partition, and a room's key of `kind` ('m', 'l', 'z', 'h'). A partition's hash
  // tag is chosen so that the partitions' slots are spread evenly over the 16384.
  const std::string& channel(unsigned partition) const noexcept { return partitions_[partition].channel; }
  std::string key(char kind, std::string_view room) const;

 private:
  struct Partition {
    std::string channel;
    uint32_t watchers = 0;  // rooms of this shard there with members on this node
    uint64_t sent = 0;      // live messages this node published on it
    std::unordered_map<uint64_t, uint64_t> heard;  // other node → the last of its numbers received
  };

  void on_subscription(std::string_view channel);
  void on_channel_message(std::string_view channel, std::string_view payload);
  void on_read_reply(uint64_t request, const RedisReply& reply);
  // `v` in decimal, in number slot i (valid until the slot is used again).
  std::string_view number(int i, uint64_t v);

  const BrokerOptions options_;
  Rooms& rooms_;
  DurableRooms& durable_;
  std::vector<Partition> partitions_;
  std::vector<std::string> tags_;  // per partition: the hash tag of its channel and keys
  RoomNameMap<unsigned> by_channel_;
  RedisCluster redis_;
  std::string scratch_;
  std::vector<std::string_view> keys_, args_;
  char numbers_[10][24];
  std::vector<std::string_view> users_;
  std::vector<Entry> entries_;
  RedisRoomsStats stats_;
};

}  // namespace ringcast
