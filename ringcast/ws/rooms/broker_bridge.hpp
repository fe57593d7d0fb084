#pragma once
// BrokerBridge: rooms that span several ringcast processes ("nodes") through Redis pub/sub. A
// message published on node A reaches the room's members on node B, as if it had been published
// there. Redis is the broker; nodes never talk to each other directly.
//
// Ownership: each shard has one bridge (inside its Rooms) and it speaks for the rooms whose home
// shard it is (Rooms::home_of). The home shard of a room knows whether any shard of this node has
// members in it — every shard hears of every other shard's first join and last leave — so:
//   - when the room gains its first member on this node, the home shard SUBSCRIBEs to the channel
//     `<prefix>room:<name>`, and UNSUBSCRIBEs when its last member on this node leaves;
//   - a local publish (from any shard) is sent to the home shard with the publication it already
//     shares with other shards (one more reference), which writes one PUBLISH to Redis; every
//     PUBLISH of a loop iteration leaves in one send (pipelined, no reply awaited in between);
//   - a message arriving on the home shard's subscription from another node is published to the
//     local members exactly like a local publish (encoded once, forwarded over the mesh). Its own
//     messages come back from Redis too and are ignored: they were delivered locally already.
// Each shard thus holds two Redis connections (RedisClient): one subscribing, one publishing.
//
// Payload on Redis: a 10-byte envelope — version (1), opcode (1 text, 2 binary), origin node id
// (8 bytes, little endian) — then the message as published.
//
// Ordering across nodes: messages of one publisher to one room reach every member on every node in
// publish order (the mesh is FIFO per pair of shards, a Redis connection keeps its commands' order,
// and Redis delivers a channel's messages to a subscriber in the order it received them). Messages
// of different publishers may interleave differently on different nodes. Sequenced rooms are
// sequenced per node: a node numbers what is published on it, and members also receive the other
// nodes' messages (with those nodes' numbers, if the stamp put them in the message), so the numbers
// members see are no longer one gap-free sequence.
//
// When Redis goes away: both connections reconnect with backoff and every room channel is
// subscribed again. Publishes made while the publishing connection is down are dropped and counted
// (`dropped`); PUBLISHes written but not acknowledged when the connection broke are counted as
// `unconfirmed` (Redis may or may not have delivered them). Messages other nodes published while
// this node's subscription was down are lost without a count (Redis pub/sub keeps nothing). A
// publishing connection with more than max_pending bytes waiting (Redis slower than the publishers)
// drops further publishes and counts them, so memory stays bounded. Nothing blocks a shard.
//
// Thread: each bridge is used by its shard's thread only; its stats are read by any thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/net/redis/redis_client.hpp>
#include <ringcast/net/redis/redis_endpoint.hpp>
#include <ringcast/net/socket_address.hpp>
#include <ringcast/ws/codec/opcode.hpp>

namespace ringcast {

class Loop;
class Rooms;

struct BrokerOptions {
  RedisEndpoint redis;              // address, credentials, TLS (RedisEndpoint::parse, at start-up)
  std::string prefix;               // channel names start with it: `<prefix>room:<name>`
  uint64_t node_id = 0;             // this process; 0: App picks a random one
  size_t max_pending = 16u << 20;   // bytes waiting on a publishing connection before publishes drop
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
};

struct BrokerStats {
  Counter published;    // PUBLISH commands written
  Counter acknowledged; // PUBLISH replies received
  Counter received;     // messages from other nodes delivered to local members
  Counter echoes;       // this node's own messages back from Redis (ignored)
  Counter dropped;      // publishes not sent: publishing connection down, or max_pending exceeded
  Counter unconfirmed;  // PUBLISHes unacknowledged when their connection broke
  Counter malformed;    // messages on a room channel that are not ringcast envelopes
  Counter errors;       // error replies from Redis
  Counter reconnects;   // connections re-established after a loss
  Counter protocol_errors;  // connections dropped for replies that are not RESP2 or break its limits
  Counter auth_failures;    // AUTH refused (wrong user or password)
  Counter channels;     // gauge: room channels this shard subscribes to
  Counter connected;    // gauge: connections up (0..2)
};

class BrokerBridge {
 public:
  static constexpr size_t kEnvelopeSize = 10;
  static constexpr uint8_t kEnvelopeVersion = 1;
  // Messages up to this size are copied into the PUBLISH; larger ones are sent from the shared
  // publication by reference.
  static constexpr size_t kCopyLimit = 2048;

  BrokerBridge(const BrokerOptions& options, Rooms& rooms, Loop& loop);
  ~BrokerBridge();
  BrokerBridge(const BrokerBridge&) = delete;
  BrokerBridge& operator=(const BrokerBridge&) = delete;

  // Connects both connections; stops (for good) when the shard stops.
  void start();
  void stop();

  // ---- For Rooms, on the room's home shard ----
  void room_added(std::string_view room);
  void room_removed(std::string_view room);
  // Publishes `message` to the other nodes. `owner` holds the message's bytes (a shared
  // publication): large messages are sent from it by reference.
  void publish(std::string_view room, std::string_view message, OpCode op, SharedBuffer* owner);

  uint64_t node_id() const noexcept { return options_.node_id; }
  const BrokerStats& stats() const noexcept { return stats_; }
  // Channel name of a room.
  std::string channel(std::string_view room) const;

 private:
  void subscribe_all();
  void write_channel_command(std::string_view command, std::string_view room);
  void on_message(const RespParser& p, const RespValue& reply);
  void on_publish_reply(const RespValue& reply);
  void on_publisher_lost();
  void report_outage();
  void count_client_events();
  RedisClientOptions client_options(const char* name) const;

  const BrokerOptions options_;
  Rooms& rooms_;
  std::string channel_prefix_;  // `<prefix>room:`
  std::unordered_set<std::string> rooms_subscribed_;
  RedisClient subscriber_;
  RedisClient publisher_;
  uint64_t in_flight_ = 0;            // PUBLISHes awaiting their reply
  uint64_t dropped_at_outage_ = 0;    // stats_.dropped when the publisher went down
  uint64_t unconfirmed_at_outage_ = 0;  // PUBLISHes unacknowledged when it went
  bool outage_ = false;               // the publisher has been lost and has not come back yet
  BrokerStats stats_;
};

}  // namespace ringcast
