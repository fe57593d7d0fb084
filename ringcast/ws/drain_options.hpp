#pragma once
// DrainOptions: how an App empties itself for a rolling restart (App::drain, and the first SIGTERM of
// App::run). GET /ready turns 503 at once, every shard closes its listener, HTTP keep-alive connections
// close after their answer, and the WebSockets get a Close frame with `close_code`, spread evenly over
// `window` across the shards, so that their clients reconnect elsewhere a few at a time instead of all
// at once. The process ends once every connection is gone, or at window + grace, cutting what is left.
#include <chrono>
#include <cstdint>

namespace ringcast {

struct DrainOptions {
  // WebSockets are closed evenly over this (0: all at once).
  std::chrono::milliseconds window{10'000};
  // After the window, how long the last closing handshakes may take before what is left is cut.
  std::chrono::milliseconds grace{5'000};
  // 1001 (going away, RFC 6455 §7.4.1: every client knows it) or 1012 (service restart, IANA
  // registry: says "come back soon", for clients that tell the two apart).
  uint16_t close_code = 1001;
};

}  // namespace ringcast
