#pragma once
// WebSocket<UserData>: one open WebSocket connection, as the application's callbacks see it, with the
// application's per-connection data inline. Server and client sides share it.
//
// Threads: a WebSocket lives on the shard that owns its connection; call it from that shard's
// callbacks only. To reach a connection from elsewhere, publish to a room it is in, or send a task
// to its shard.
//
// Memory (the headline figure): 64 bytes here plus sizeof(UserData), from the route's per-shard slab,
// next to the connection's 80-byte record. Message buffers, decompression state and room lists are
// allocated only while used.
#include <cstdint>
#include <string_view>

#include <ringcast/net/connection.hpp>
#include <ringcast/net/socket_address.hpp>
#include <ringcast/ws/codec/detail/frame_parser.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>
#include <ringcast/ws/rooms/position.hpp>
#include <ringcast/ws/rooms/publish_outcome.hpp>

namespace ringcast {

class WebSocketContext;
struct WebSocketMessage;
struct WebSocketExtras;

enum class SendStatus : uint8_t {
  sent,          // queued; leaves at the end of this loop iteration
  backpressure,  // queued, but more than max_backpressure bytes are now waiting (on_drain will follow)
  dropped,       // not queued: the connection is closing, or already over max_backpressure
};

class WebSocketBase {
 public:
  // Sends one message (RFC 6455 §5.6) as a single frame. Frames sent from one callback or loop
  // iteration leave together in one send. `compress`: use permessage-deflate when negotiated and the
  // message is above the route's threshold.
  SendStatus send(std::string_view message, OpCode op = OpCode::text, bool compress = false);
  // Starts the closing handshake (RFC 6455 §7.1.2): sends a Close frame with `code` and `reason`
  // (truncated to fit 123 bytes on a UTF-8 boundary), calls on_close now, and closes TCP when the
  // peer answers (or after the route's close timeout). 1005 sends a Close without a code; codes that
  // may not appear on the wire (1006, 1015, unassigned ones) are sent as 1000.
  void close(uint16_t code = 1000, std::string_view reason = {});
  // Drops the TCP connection at once, without a Close frame; on_close sees 1006.
  void end();
  // Sends a ping (RFC 6455 §5.5.2); the payload is cut to 125 bytes.
  void ping(std::string_view payload = {});

  // A connection accepted pending authentication (Upgrade::accept_pending_auth) becomes an
  // authenticated one: the route's full message size, rooms, no auth deadline; heartbeat pings start
  // from now. Call it once the client has proven who it is (its first message, say). Nothing for a
  // connection authenticated already.
  void authenticate();
  // False from an accept_pending_auth until authenticate(); true for every other connection.
  bool authenticated() const noexcept { return (flags_ & kPendingAuth) == 0; }

  // Rooms (ringcast/ws/rooms/rooms.hpp): membership lives on this connection's shard; publishing
  // reaches every shard. subscribe/unsubscribe return false when nothing changed; subscribe and
  // publish return false, and do nothing, for a connection not authenticated (see authenticate()).
  bool subscribe(std::string_view room);
  // A durable room (see ringcast/ws/rooms/room_options.hpp): joins with a replay — what came after
  // `options.since`, or the latest `options.tail` messages — before the live stream; the route's
  // on_subscribed says when that stream starts and whether everything missed was recovered.
  bool subscribe(std::string_view room, const SubscribeOptions& options);
  bool unsubscribe(std::string_view room);
  bool is_subscribed(std::string_view room) const;
  // Publishes to every member of `room` except this socket (a durable room's message reaches this
  // socket too); Rooms::publish says what the result and `on_done` tell (publish_outcome.hpp). False,
  // nothing sent and on_done never run, for a connection not authenticated.
  bool publish(std::string_view room, std::string_view message, OpCode op = OpCode::text, PublishDone on_done = {});

  // Bytes queued to this connection and not yet handed to the kernel.
  size_t buffered_amount() const noexcept;
  bool is_open() const noexcept { return state_ == kOpen; }
  // permessage-deflate was agreed in the handshake.
  bool deflate() const noexcept { return (flags_ & kDeflate) != 0; }
  // The peer's address (a getpeername system call: for rare uses such as logs and per-address
  // limits); empty (family AF_UNSPEC) when unknown.
  SocketAddress remote_address() const noexcept;

 protected:
  WebSocketBase() = default;
  ~WebSocketBase() = default;
  WebSocketBase(const WebSocketBase&) = delete;
  WebSocketBase& operator=(const WebSocketBase&) = delete;

 private:
  friend class WebSocketContext;
  friend class Rooms;
  enum State : uint8_t { kOpen, kClosing, kClosed };  // closing: our Close sent, awaiting theirs
  enum Flag : uint8_t {
    kCompressedMessage = 1 << 0,  // the message being received has RSV1 (permessage-deflate)
    kAwaitingPong = 1 << 1,       // a heartbeat ping is out
    kDeflate = 1 << 2,            // permessage-deflate negotiated
    kPendingAuth = 1 << 3,        // accepted pending authentication; ping_sent_ms_ is when it opened
  };
  WebSocketContext& context() const noexcept;

  Connection* conn_ = nullptr;          // 8
  FrameParser parser_;                  // 24: the frame being read
  Utf8Validator utf8_;                  // 1: the text message being read
  State state_ = kOpen;                 // 1
  OpCode message_op_ = OpCode::continuation;  // 1: text/binary while a message is being read
  uint8_t flags_ = 0;                   // 1
  uint32_t last_seen_ms_ = 0;           // 4: shard time of the last frame received (idle timeout)
  uint32_t ping_sent_ms_ = 0;           // 4: when the last heartbeat ping (or our Close) left, or the
                                        //    101 of a connection pending authentication
  uint32_t slot_ = 0;                   // 4: index in the context's slab
  WebSocketMessage* message_ = nullptr; // 8: assembly buffer while a message spans reads
  WebSocketExtras* extras_ = nullptr;   // 8: deflate state, rooms; null while unused
};
static_assert(sizeof(WebSocketBase) == 64, "keep the per-connection WebSocket state small");

template <typename UserData>
class WebSocket final : public WebSocketBase {
 public:
  template <typename... Args>
  explicit WebSocket(Args&&... args) : data_(std::forward<Args>(args)...) {}
  UserData& data() noexcept { return data_; }
  const UserData& data() const noexcept { return data_; }

 private:
  [[no_unique_address]] UserData data_;
};

}  // namespace ringcast
