#pragma once
// WebSocketLimits: the sizes and timers of one WebSocket route (WebSocketBehavior::limits) or one kind
// of client connection (ClientBehavior::limits), filled with designated initializers:
//
//   .limits = {.max_message_size = 64 << 10, .idle_timeout = 60s, .ping_interval = 10s},
//
// The defaults are a server route's. Read-only once the route or client exists; every shard reads it.
#include <chrono>
#include <cstddef>

namespace ringcast {

struct WebSocketLimits {
  // A message (after permessage-deflate decompression) larger than this fails with 1009.
  size_t max_message_size = 1 << 20;
  // send() drops a message while more than this many bytes wait to leave; rooms apply their
  // slow-consumer policy above it.
  size_t max_backpressure = 1 << 20;
  bool close_on_backpressure_limit = false;  // ... or closes the connection with 1008 instead
  std::chrono::milliseconds idle_timeout{120'000};  // no frame received for this long: close 1001 (0: never)
  std::chrono::milliseconds ping_interval{0};       // heartbeat pings (0: none)
  std::chrono::milliseconds pong_timeout{0};        // no pong this long after a ping: drop (0: ping_interval)
  std::chrono::milliseconds close_timeout{2'000};   // our Close sent: wait this long for theirs
};

}  // namespace ringcast
