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
  // The largest message, counted after inflation (1009 beyond). 64 KiB: a chat line, a JSON document,
  // a game input fit many times over, and a message bomb at the limit costs a fraction of a
  // millisecond to inflate. Raise it for routes that carry files or large documents.
  size_t max_message_size = 64 << 10;
  // send() drops a message while more than this many bytes wait to leave; a room member is not sent a
  // publication that would take it past this (its room's slow-consumer policy).
  size_t max_backpressure = 1 << 20;
  bool close_on_backpressure_limit = false;  // ... or closes the connection with 1008 instead
  std::chrono::milliseconds idle_timeout{120'000};  // no frame received for this long: close 1001 (0: never)
  std::chrono::milliseconds ping_interval{0};       // heartbeat pings (0: none)
  std::chrono::milliseconds pong_timeout{0};        // no pong this long after a ping: drop (0: ping_interval)
  std::chrono::milliseconds close_timeout{2'000};   // our Close sent: wait this long for theirs
  // With compression: bytes one connection may inflate per second on average, and at once (0: one
  // second's worth, and never less than max_message_size); a message beyond closes with 1008, so a
  // client sending bombs costs at most this much inflating (0: no limit). 4 MiB/s is ~100 times what a
  // chat or a game client sends and about 1 % of a core of inflation.
  size_t max_inflate_rate = 4 << 20;
  size_t inflate_burst = 0;
  // Before authentication: a connection accepted with Upgrade::accept_pending_auth (a route whose
  // clients prove who they are in their first message) is held, until WebSocket::authenticate(), to
  // messages of this size (1009 beyond; never more than max_message_size), may not subscribe or
  // publish (both return false), and is closed with 1008 once auth_timeout has passed since its 101
  // (0: no deadline). So a connection nobody vouches for costs a small message and a timer. 4 KiB holds
  // a token, a signed cookie or a JWT several times over. Connections accepted with accept() are
  // authenticated from the start and never see these.
  size_t max_message_size_before_auth = 4 << 10;
  std::chrono::milliseconds auth_timeout{10'000};
};

}  // namespace ringcast
