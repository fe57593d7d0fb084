#pragma once
// WebSocketContext: the WebSocket protocol on one shard for one route (server) or one kind of client
// connection — the ConnectionHandler that turns frames into messages and back. One per route per
// shard; the typed subclass (WebSocketRoute<U>, WebSocketClientKind<U>) owns the WebSocket<U> records
// and forwards events to the application's callbacks.
//
// Reading (RFC 6455 §5–7): frames are parsed in place; a message whose single frame is whole in the
// receive buffer is delivered as a view of that buffer (no copy); anything that spans reads or
// fragments is assembled in a per-connection buffer taken from a per-shard pool only while needed. Text
// is validated as it arrives and fails at the first invalid byte (1007), sizes are checked from frame
// headers alone (1009), protocol errors fail with 1002; failing sends a Close frame and closes TCP.
// Every such error is found from a frame's header before any of its payload is used, so no callback
// runs for a message whose frames break a rule. Control frames may come between fragments; pings are
// answered with the same payload. Once our Close is out, data frames are skipped unread until the
// peer's Close; once the peer's Close is in, the connection is the loop's, which reads nothing more
// into the protocol (Loop::close).
//
// Budgets (what a peer can make the server hold or do): a message is held to max_message_size,
// counted on its inflated size and checked at the frame that crosses it (1009); what the shard's
// connections hold in messages that span reads is held to a shard-wide PartialMessageBudget (1013);
// a compressed message is inflated only as far as the connection's inflate budget allows (a token
// bucket of max_inflate_rate bytes a second, 1008 past it), so bombs cost bounded memory and CPU;
// send() queues nothing once more than max_backpressure bytes wait (so at most that much plus the one
// message that crossed it). A connection adopted pending authentication is held to
// max_message_size_before_auth and joins no room until WebSocketBase::authenticate().
//
// Timers (the connection's one timer, re-armed lazily): heartbeat pings every ping_interval with a
// pong deadline, an idle timeout measured from the last frame received, the close-handshake timeout
// once our Close frame is out, and before authentication the auth deadline (auth_timeout from the
// 101; no heartbeat pings until then, so the ping timestamp can hold the 101's time).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/token_bucket.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/codec/detail/mask_key_generator.hpp>
#include <ringcast/ws/codec/role.hpp>
#include <ringcast/ws/deflate/detail/deflater.hpp>
#include <ringcast/ws/deflate/detail/inflater.hpp>
#include <ringcast/ws/deflate/permessage_deflate.hpp>
#include <ringcast/ws/detail/partial_message_budget.hpp>
#include <ringcast/ws/web_socket.hpp>
#include <ringcast/ws/web_socket_limits.hpp>

namespace ringcast {

// Per route per shard, read by /metrics from any thread.
struct WebSocketStats {
  Counter open;               // WebSockets open now
  Counter opened;
  Counter messages_in;
  Counter messages_out;
  Counter bytes_in;           // message payload bytes (after decompression)
  Counter bytes_out;
  Counter protocol_errors;    // connections failed with 1002/1007/1009
  Counter dropped;            // sends dropped over max_backpressure
  Counter too_big;            // connections closed with 1009: a message over max_message_size
  Counter shard_budget;       // connections closed with 1013: the shard's PartialMessageBudget was spent
  Counter inflate_budget;     // connections closed with 1008: over their inflate budget
  Counter auth_timeouts;      // connections closed with 1008: not authenticated within auth_timeout
  Counter inflated_bytes;     // bytes produced by inflating compressed messages
};

class Rooms;

class WebSocketContext : public ConnectionHandler {
 public:
  // `deflate`: permessage-deflate (RFC 7692), off unless enabled. Sending compresses without context
  // takeover (one compression per message, shared by every receiver; see
  // ringcast/ws/deflate/detail/deflater.hpp).
  WebSocketContext(Loop& loop, Role role, const WebSocketLimits& limits, const DeflateOptions& deflate);
  ~WebSocketContext() override;

  Loop& loop() noexcept { return loop_; }
  Role role() const noexcept { return role_; }
  const WebSocketLimits& limits() const noexcept { return limits_; }
  const DeflateOptions& deflate_options() const noexcept { return deflate_; }
  const WebSocketStats& stats() const noexcept { return stats_; }
  // The shard's rooms, which this context's sockets subscribe to (null: rooms unavailable).
  Rooms* rooms() const noexcept { return rooms_; }
  void set_rooms(Rooms* rooms) noexcept { rooms_ = rooms; }
  // What the shard's messages in progress may hold; a context has its own (64 MiB) until the App
  // hands it the shard's, which must outlive it.
  const PartialMessageBudget& budget() const noexcept { return *budget_; }
  void set_budget(PartialMessageBudget* budget) noexcept { budget_ = budget; }

  // Takes over `c` (just upgraded or handshaken) with `ws` as its state and the permessage-deflate
  // agreement (disabled when not negotiated); calls on_open. `authenticated` false: held to the
  // limits before authentication until WebSocketBase::authenticate().
  void adopt(Connection& c, WebSocketBase& ws, const DeflateAgreement& deflate = {}, bool authenticated = true);
  // Shard-wide compression state of this context (created on first use).
  SharedDeflater& deflater();
  // A client connection that never opened: calls on_error and frees `ws`.
  void handshake_failed(WebSocketBase& ws, std::string_view why);

  // ---- ConnectionHandler ----
  void on_open(Connection&) override {}  // connections arrive through adopt()
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_drain(Connection& c) override;
  void on_timeout(Connection& c) override;
  void on_shutdown(Connection& c) override;
  // Starts the closing handshake of `c` (one of this context's) with `code` when it is open, and says
  // whether it did. The shard's stop sends 1001, a drain its own code (AppOptions::drain).
  bool go_away(Connection& c, uint16_t code, std::string_view reason);
  void on_close(Connection& c, int error) override;

  // ---- What WebSocketBase calls ----
  SendStatus send(WebSocketBase& ws, std::string_view message, OpCode op, bool compress);
  void close(WebSocketBase& ws, uint16_t code, std::string_view reason);
  void end(WebSocketBase& ws);
  void ping(WebSocketBase& ws, std::string_view payload);
  void authenticate(WebSocketBase& ws);
  // ---- What Rooms calls ----
  // A durable room's live stream starts for `ws` (see SubscribeResult).
  void subscribed(WebSocketBase& ws, std::string_view room, const SubscribeResult& result) {
    emit_subscribed(ws, room, result);
  }

 protected:
  // The typed subclass forwards these to the application.
  virtual void emit_open(WebSocketBase& ws) = 0;
  virtual void emit_message(WebSocketBase& ws, std::string_view message, OpCode op) = 0;
  virtual void emit_drain(WebSocketBase& ws) = 0;
  virtual void emit_ping(WebSocketBase& ws, std::string_view payload) = 0;
  virtual void emit_pong(WebSocketBase& ws, std::string_view payload) = 0;
  virtual void emit_close(WebSocketBase& ws, int code, std::string_view reason) = 0;
  virtual void emit_error(WebSocketBase&, std::string_view) {}  // clients: connect or handshake failed
  virtual void emit_subscribed(WebSocketBase&, std::string_view, const SubscribeResult&) {}
  // Frees the record (its slab slot).
  virtual void destroy(WebSocketBase& ws) = 0;

  static uint32_t slot_of(const WebSocketBase& ws) noexcept { return ws.slot_; }
  static void set_slot(WebSocketBase& ws, uint32_t slot) noexcept { ws.slot_ = slot; }

  WebSocketStats stats_;

 private:
  struct Reader;

  void write_frame(WebSocketBase& ws, OpCode op, std::string_view payload, bool rsv1);
  bool inflate(WebSocketBase& ws, std::span<const uint8_t> chunk, bool last);
  void send_close(WebSocketBase& ws, uint16_t code, std::string_view reason);
  void fail(WebSocketBase& ws, uint16_t code, std::string_view reason = {});
  // A budget was spent: fail with `code` and count it.
  void refuse(WebSocketBase& ws, uint16_t code, Counter& counter, std::string_view reason);
  // Brings the shard budget's count of ws's message up to date (after its buffer or stream changed).
  void recount(WebSocketBase& ws);
  // Whether ws's message may grow by `n` more bytes of assembly; fails it with 1013 when not.
  bool may_grow(WebSocketBase& ws, size_t n);
  // Bytes ws may inflate now: its bucket, refilled up to this moment.
  size_t inflate_allowance(WebSocketBase& ws);
  void on_control(WebSocketBase& ws, OpCode op, std::span<uint8_t> payload);
  void leave_open(WebSocketBase& ws, int code, std::string_view reason);  // on_close, once
  void arm_timer(WebSocketBase& ws);
  // The largest message ws may send now: max_message_size, or less before authentication.
  size_t message_limit(const WebSocketBase& ws) const noexcept;
  // ws is pending authentication with a deadline (which then takes the place of heartbeats).
  bool auth_deadline(const WebSocketBase& ws) const noexcept;
  uint32_t now_ms() const noexcept { return static_cast<uint32_t>(loop_.shard().now_ms()); }
  WebSocketMessage& message(WebSocketBase& ws);
  void release_message(WebSocketBase& ws);
  // Forgets the data message in progress (at a data frame's edge: no control frame is half read).
  void drop_message(WebSocketBase& ws);
  void release_extras(WebSocketBase& ws);

  Loop& loop_;
  const Role role_;
  const WebSocketLimits limits_;
  const DeflateOptions deflate_;
  const Rate inflate_rate_;
  std::vector<WebSocketMessage*> spare_messages_;
  MaskKeyGenerator masks_;
  Rooms* rooms_ = nullptr;
  PartialMessageBudget own_budget_{64 << 20};
  PartialMessageBudget* budget_ = &own_budget_;
  struct Compression {
    SharedDeflater deflater;
    InflaterPool inflaters;
    std::string scratch;
    explicit Compression(const DeflateOptions& o) : deflater(o.level, o.engine) {}
  };
  std::unique_ptr<Compression> compression_;
  Compression& compression();
  InflateParams inflate_params(const WebSocketBase& ws) const;
  uint8_t send_window_bits(const WebSocketBase& ws) const;
};

}  // namespace ringcast
