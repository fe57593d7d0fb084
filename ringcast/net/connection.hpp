#pragma once
// Connection: one TCP connection's record in its shard's slab, and ConnectionHandler, the protocol
// (raw TCP, HTTP, WebSocket) that drives it. A connection lives and dies on the shard that accepted
// or opened it; its record and its handler are touched by that shard's thread only.
//
// Memory (the headline figure): 80 bytes per connection here. Output queues and leftover input exist
// only while used; receive buffers come from the shard's buffer ring. The protocol keeps its own state
// behind `context`. TLS state (ringcast/net/tls/detail/tls_session.hpp) lives in the loop's side table,
// not here.
#include <cstddef>
#include <cstdint>
#include <span>

#include <ringcast/core/timer_wheel.hpp>

namespace ringcast {

struct Connection;
class OutputQueue;

// Implemented by each protocol; one instance per shard, shared by that shard's connections.
// Every callback runs on the shard's thread. After on_close the handler never hears of the
// connection again and must not touch it.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;

  // Accepted (server) or connected (client). The connection may be written to or closed here.
  virtual void on_open(Connection& c) = 0;
  // Bytes arrived. Returns how many it consumed; the rest is kept and offered again, in front of the
  // next bytes. A handler that hands the connection to another handler (an HTTP upgrade) returns what
  // it consumed and the rest goes to the new handler at once. The span is writable (in-place parsing).
  virtual size_t on_data(Connection& c, std::span<uint8_t> data) = 0;
  // Everything queued has been handed to the kernel, and the handler had asked to hear of it
  // (Loop::request_drain).
  virtual void on_drain(Connection&) {}
  // The connection's timer (Connection::timer) fired.
  virtual void on_timeout(Connection&) {}
  // The shard is stopping. Default: close gracefully.
  virtual void on_shutdown(Connection& c);
  // The connection is finished for the protocol: closed by either side, reset, failed to connect
  // (`error` < 0 is -errno; 0 is an orderly close). Called exactly once.
  virtual void on_close(Connection& c, int error) = 0;
};

struct Connection {
  // State bits. Reading is wanted unless paused; the loop keeps its own bits on arming and flushing.
  enum Flag : uint16_t {
    kOpen = 1 << 0,            // a handler is attached
    kConnecting = 1 << 1,      // client connect in progress
    kRecvArmed = 1 << 2,       // a receive (or readiness poll) is registered with the kernel
    kSendInFlight = 1 << 3,    // io_uring: a send is submitted and not completed
    kDirty = 1 << 4,           // queued for the end-of-iteration flush
    kClosing = 1 << 5,         // graceful close: flushing output, then FIN
    kLinger = 1 << 6,          // FIN sent, reading (and discarding) until the peer's FIN
    kPeerEof = 1 << 7,         // the peer sent FIN
    kFdClosed = 1 << 8,        // fd closed; the record waits for in-flight operations
    kWantWrite = 1 << 9,       // epoll: waiting for EPOLLOUT
    kWantDrain = 1 << 10,      // the handler asked for on_drain when the output queue empties
    kRecvCancel = 1 << 11,     // io_uring: a cancel of the receive is on its way
    kTls = 1 << 12,            // TLS: the loop's side table holds the session and the plaintext queue
    kTlsHandshake = 1 << 13,   // TLS handshake not finished: on_open has not been called yet
    kHadInput = 1 << 14,       // input reached the handler this iteration: its output is flushed first
  };
  // Why reading is paused (any bit set: paused while the connection is open).
  enum Pause : uint8_t {
    kPauseOutput = 1 << 0,   // too much output pending
    kPauseHandler = 1 << 1,  // the protocol asked (pause_reading)
    kPauseMesh = 1 << 2,     // its input overflowed a queue to another shard (cross-shard backpressure)
  };

  explicit Connection(Timer::Callback on_timer) noexcept : timer(on_timer) {}

  bool has(uint16_t f) const noexcept { return (flags & f) != 0; }
  bool is_open() const noexcept { return has(kOpen); }

  Timer timer;                          // 32: for the protocol while open; the loop's once closing
  ConnectionHandler* handler = nullptr; // 8
  void* context = nullptr;              // 8: protocol state, owned by the handler
  OutputQueue* out = nullptr;           // 8: null while nothing is queued
  uint8_t* leftover = nullptr;          // 8: unconsumed input (malloc'd, size below), or null
  int fd = -1;                          // 4
  uint32_t index = 0;                   // 4: slot in the shard's slab
  uint32_t leftover_size = 0;           // 4: once closing (no leftover), the bytes read and dropped since
  uint16_t flags = 0;                   // 2
  uint8_t ops = 0;                      // 1: io_uring operations in flight that reference it
  uint8_t paused = 0;                   // 1: Pause bits
};
static_assert(sizeof(Connection) == 80, "keep the per-connection record small");

}  // namespace ringcast
