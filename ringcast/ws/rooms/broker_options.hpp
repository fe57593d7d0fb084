#pragma once
// BrokerOptions: how a node's rooms reach other nodes through Redis (AppOptions::broker, a URL, parsed
// into these at start-up). See ringcast/ws/rooms/detail/redis_rooms.hpp for what travels there.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <ringcast/net/redis/redis_endpoint.hpp>

namespace ringcast {

struct BrokerOptions {
  RedisEndpoint redis;              // address, credentials, TLS (RedisEndpoint::parse, at start-up)
  std::string prefix;               // keys and channels start with it
  uint64_t node_id = 0;             // this process; 0: App picks a random one
  size_t max_pending = 16u << 20;   // bytes waiting on a command connection before live publishes drop
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // Liveness: every shard publishes a probe to itself through each Redis node it subscribes on this
  // often, and drops a subscriber connection (reconnecting it) that returned none for probe_timeout
  // (RedisClusterOptions; 0: no probes). GET /ready is 503 while a probe is overdue.
  std::chrono::milliseconds probe_interval{1000};
  std::chrono::milliseconds probe_timeout{3000};
};

}  // namespace ringcast
