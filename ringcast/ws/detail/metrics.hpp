#pragma once
// Prometheus text exposition (format 0.0.4) of a running App's counters, per shard: the loop and the
// mesh (core), connections and bytes (net), WebSocket messages (ws), rooms. Reads other shards'
// counters without locks (see Counter); served at GET /metrics.
#include <string>
#include <vector>

namespace ringcast {

class Shard;
class Rooms;
class WebSocketContext;

struct NetStats;
struct RedisRoomsStats;
struct RedisClusterStats;
struct PartialMessageBudget;
struct DrainStats;

struct ShardView {
  const Shard* shard = nullptr;
  const NetStats* net = nullptr;
  const Rooms* rooms = nullptr;
  const RedisRoomsStats* broker = nullptr;  // null: no broker
  const RedisClusterStats* redis = nullptr;
  const PartialMessageBudget* budget = nullptr;
  std::vector<const WebSocketContext*> routes;
  const DrainStats* drain = nullptr;
};

// What is said of the node as a whole (no shard label).
struct NodeView {
  bool ready = false;
  bool draining = false;
};

std::string format_metrics(const std::vector<ShardView>& shards, const NodeView& node);

}  // namespace ringcast
