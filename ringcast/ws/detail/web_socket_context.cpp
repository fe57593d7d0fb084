#include <ringcast/ws/detail/web_socket_context.hpp>

#include <algorithm>
#include <cstring>

#include <ringcast/ws/codec/close_code.hpp>
#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include <ringcast/ws/codec/detail/mask.hpp>
#include <ringcast/ws/detail/web_socket_extras.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {

// A message (or control frame) being assembled across reads. From a per-shard pool.
struct WebSocketMessage {
  std::string data;              // the payload so far
  size_t held = 0;               // what it counts for in the shard's PartialMessageBudget
  OpCode frame_op = OpCode::continuation;  // the frame being read, when it spans reads
  bool frame_fin = false;
  uint8_t control_len = 0;
  uint8_t control[kMaxControlPayload];
};

namespace {

constexpr size_t kSpareMessages = 64;
constexpr size_t kKeepCapacity = 64 * 1024;  // pooled buffers keep at most this much

}  // namespace

WebSocketContext& WebSocketBase::context() const noexcept { return *static_cast<WebSocketContext*>(conn_->handler); }

SendStatus WebSocketBase::send(std::string_view message, OpCode op, bool compress) {
  if (state_ != kOpen) return SendStatus::dropped;
  return context().send(*this, message, op, compress);
}
void WebSocketBase::close(uint16_t code, std::string_view reason) {
  if (state_ == kOpen) context().close(*this, code, reason);
}
void WebSocketBase::end() {
  if (state_ != kClosed) context().end(*this);
}
void WebSocketBase::ping(std::string_view payload) {
  if (state_ == kOpen) context().ping(*this, payload);
}
void WebSocketBase::authenticate() {
  if (!authenticated()) context().authenticate(*this);
}
// A connection nobody has vouched for yet joins no room and publishes nothing.
bool WebSocketBase::subscribe(std::string_view room) {
  Rooms* rooms = context().rooms();
  return rooms && authenticated() && rooms->subscribe(*this, room);
}
bool WebSocketBase::subscribe(std::string_view room, const SubscribeOptions& options) {
  Rooms* rooms = context().rooms();
  return rooms && authenticated() && rooms->subscribe(*this, room, options);
}
bool WebSocketBase::unsubscribe(std::string_view room) {
  Rooms* rooms = context().rooms();
  return rooms && rooms->unsubscribe(*this, room);
}
bool WebSocketBase::is_subscribed(std::string_view room) const {
  Rooms* rooms = context().rooms();
  return rooms && rooms->is_subscribed(*this, room);
}
bool WebSocketBase::publish(std::string_view room, std::string_view message, OpCode op, PublishDone on_done) {
  Rooms* rooms = context().rooms();
  return rooms && authenticated() && rooms->publish(room, message, op, this, std::move(on_done));
}
SocketAddress WebSocketBase::remote_address() const noexcept { return SocketAddress::peer_of(conn_->fd); }

size_t WebSocketBase::buffered_amount() const noexcept {
  return conn_ && state_ != kClosed ? context().loop().buffered_amount(*conn_) : 0;
}

// ---------------------------------------------------------------------------------------------

namespace {

// The inflate budget's rate: max_inflate_rate a second, a bucket of inflate_burst (0: a second's
// worth) and never smaller than one message at the limit.
Rate inflate_rate_of(const WebSocketLimits& l) noexcept {
  const size_t burst = l.inflate_burst ? l.inflate_burst : l.max_inflate_rate;
  return {static_cast<double>(l.max_inflate_rate), static_cast<double>(burst > l.max_message_size ? burst : l.max_message_size)};
}

}  // namespace

WebSocketContext::WebSocketContext(Loop& loop, Role role, const WebSocketLimits& limits, const DeflateOptions& deflate)
    : loop_(loop), role_(role), limits_(limits), deflate_(deflate), inflate_rate_(inflate_rate_of(limits)) {}

WebSocketContext::~WebSocketContext() {
  for (WebSocketMessage* m : spare_messages_) delete m;
}

WebSocketMessage& WebSocketContext::message(WebSocketBase& ws) {
  if (!ws.message_) {
    if (!spare_messages_.empty()) {
      ws.message_ = spare_messages_.back();
      spare_messages_.pop_back();
    } else {
      ws.message_ = new WebSocketMessage();
    }
    recount(ws);  // a pooled buffer brings its capacity along
  }
  return *ws.message_;
}

void WebSocketContext::recount(WebSocketBase& ws) {
  WebSocketMessage* m = ws.message_;
  if (!m) return;
  size_t now = sizeof(WebSocketMessage) + m->data.capacity();
  // A stream borrowed for this message only (no context takeover). With takeover the connection keeps
  // its stream from message to message, a cost of the connection that the route chose to allow.
  if (ws.extras_ && ws.extras_->inflater.holds_stream() && inflate_params(ws).no_context_takeover) {
    now += Inflater::kStreamBytes;
  }
  if (now >= m->held) {
    budget_->held.add(now - m->held);
  } else {
    budget_->held.sub(m->held - now);
  }
  m->held = now;
}

bool WebSocketContext::may_grow(WebSocketBase& ws, size_t n) {
  const std::string& data = ws.message_->data;
  const size_t need = data.size() + n;
  if (need <= data.capacity() || need - data.capacity() <= budget_->left()) return true;
  refuse(ws, close_code::kTryAgainLater, stats_.shard_budget, "server busy");
  return false;
}

size_t WebSocketContext::inflate_allowance(WebSocketBase& ws) {
  if (!inflate_rate_.limited()) return SIZE_MAX;
  return static_cast<size_t>(ws.extras_->inflate_budget.available(inflate_rate_, loop_.shard().now_ms()));
}

void WebSocketContext::release_message(WebSocketBase& ws) {
  WebSocketMessage* m = ws.message_;
  if (!m) return;
  ws.message_ = nullptr;
  budget_->held.sub(m->held);
  m->held = 0;
  if (spare_messages_.size() >= kSpareMessages) {
    delete m;
    return;
  }
  m->data.clear();
  if (m->data.capacity() > kKeepCapacity) m->data.shrink_to_fit();  // a 16 MiB message gives its memory back
  m->control_len = 0;
  spare_messages_.push_back(m);
}

void WebSocketContext::drop_message(WebSocketBase& ws) {
  ws.message_op_ = OpCode::continuation;
  ws.flags_ &= ~WebSocketBase::kCompressedMessage;
  release_message(ws);
}

void WebSocketContext::release_extras(WebSocketBase& ws) {
  if (!ws.extras_) return;
  if (rooms_) rooms_->unsubscribe_all(ws);
  if (ws.extras_->inflater.holds_stream()) ws.extras_->inflater.release(compression_->inflaters);
  delete ws.extras_;
  ws.extras_ = nullptr;
}

WebSocketContext::Compression& WebSocketContext::compression() {
  if (!compression_) compression_ = std::make_unique<Compression>(deflate_);
  return *compression_;
}

SharedDeflater& WebSocketContext::deflater() { return compression().deflater; }

InflateParams WebSocketContext::inflate_params(const WebSocketBase& ws) const {
  const DeflateAgreement& a = ws.extras_->deflate;
  return role_ == Role::server ? server_inflate_params(a, message_limit(ws)) : client_inflate_params(a, message_limit(ws));
}

size_t WebSocketContext::message_limit(const WebSocketBase& ws) const noexcept {
  if (ws.authenticated()) return limits_.max_message_size;
  return std::min(limits_.max_message_size, limits_.max_message_size_before_auth);
}

bool WebSocketContext::auth_deadline(const WebSocketBase& ws) const noexcept {
  return !ws.authenticated() && limits_.auth_timeout.count() > 0;
}

uint8_t WebSocketContext::send_window_bits(const WebSocketBase& ws) const {
  const DeflateAgreement& a = ws.extras_->deflate;
  return role_ == Role::server ? a.server_max_window_bits : a.client_max_window_bits;
}

void WebSocketContext::adopt(Connection& c, WebSocketBase& ws, const DeflateAgreement& deflate, bool authenticated) {
  ws.conn_ = &c;
  if (!authenticated) ws.flags_ |= WebSocketBase::kPendingAuth;
  // RFC 7692 §6.1: with permessage-deflate agreed, RSV1 marks a compressed message.
  ws.parser_ = FrameParser(role_, deflate.enabled ? kRsv1 : 0);
  if (deflate.enabled) {
    if (!ws.extras_) ws.extras_ = new WebSocketExtras();
    ws.extras_->deflate = deflate;
    ws.extras_->inflate_budget = TokenBucket(inflate_rate_, loop_.shard().now_ms());
    ws.flags_ |= WebSocketBase::kDeflate;
  }
  ws.state_ = WebSocketBase::kOpen;
  ws.last_seen_ms_ = ws.ping_sent_ms_ = now_ms();
  c.handler = this;
  c.context = &ws;
  stats_.open.add();
  stats_.opened.add();
  arm_timer(ws);
  emit_open(ws);
}

void WebSocketContext::handshake_failed(WebSocketBase& ws, std::string_view why) {
  ws.state_ = WebSocketBase::kClosed;
  emit_error(ws, why);
  release_message(ws);
  destroy(ws);
}

// ---------------------------------------------------------------------------------------------
// Reading

// The FrameVisitor of one on_data call. State that must outlive the call (a frame or message that
// spans reads) lives in WebSocketBase and its WebSocketMessage.
struct WebSocketContext::Reader {
  WebSocketContext& ctx;
  WebSocketBase& ws;
  OpCode op = OpCode::continuation;  // the current frame
  bool fin = false;
  uint64_t length = 0;
  std::span<uint8_t> whole;          // the current frame's payload, when it arrived in one piece

  bool stop() const noexcept { return ws.state_ == WebSocketBase::kClosed; }

  // RFC 6455 §5.5.1: once our Close is out the peer may still send frames until its own Close, and
  // none of them can reach the application: their payloads are skipped unread — not assembled,
  // inflated or validated — so what follows our Close costs parsing its headers and nothing held.
  bool skipping() const noexcept { return ws.state_ != WebSocketBase::kOpen && !is_control(op); }

  bool on_frame_header(const FrameHeader& h) {
    op = h.opcode;
    fin = h.fin;
    length = h.payload_length;
    whole = {};
    if (is_control(op)) return true;
    if (skipping()) {
      ctx.drop_message(ws);
      return true;
    }
    const size_t so_far = ws.message_ ? ws.message_->data.size() : 0;
    if (op == OpCode::continuation) {
      // RFC 6455 §5.4: a continuation frame continues a message, or there is nothing to continue.
      if (ws.message_op_ == OpCode::continuation) return fail(close_code::kProtocolError);
    } else {
      // §5.4: a new data frame while a fragmented message is open is a protocol error.
      if (ws.message_op_ != OpCode::continuation) return fail(close_code::kProtocolError);
      ws.message_op_ = op;
      ws.utf8_.reset();
      if (h.rsv1()) ws.flags_ |= WebSocketBase::kCompressedMessage;
    }
    const size_t limit = ctx.message_limit(ws);
    if (ws.flags_ & WebSocketBase::kCompressedMessage) {
      // The inflater bounds the message itself; this only bounds the work one frame can cost.
      if (length > 2 * limit + 1024) return too_big();
    } else if (so_far + length > limit) {
      return too_big();  // at the frame that crosses the limit, before any of its bytes is kept
    }
    return true;
  }

  bool on_frame_payload(std::span<uint8_t> chunk) {
    if (is_control(op)) {
      if (chunk.size() == length) {
        whole = chunk;
      } else {
        WebSocketMessage& m = ctx.message(ws);  // a control frame split across reads: ≤ 125 bytes
        std::memcpy(m.control + m.control_len, chunk.data(), chunk.size());
        m.control_len = static_cast<uint8_t>(m.control_len + chunk.size());
      }
      return true;
    }
    if (skipping()) return true;
    if (ws.flags_ & WebSocketBase::kCompressedMessage) return ctx.inflate(ws, chunk, false);
    // RFC 6455 §8.1: text must be UTF-8; fail at the first byte that cannot be, even mid-fragment.
    if (ws.message_op_ == OpCode::text && ws.utf8_.feed(chunk) != chunk.size()) {
      return fail(close_code::kInvalidPayload);
    }
    const bool single = fin && op != OpCode::continuation && chunk.size() == length && !ws.message_;
    if (single) {
      whole = chunk;  // the whole message in this buffer: deliver it in place
    } else {
      WebSocketMessage& m = ctx.message(ws);
      if (!ctx.may_grow(ws, chunk.size())) return false;
      m.data.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      ctx.recount(ws);
    }
    return true;
  }

  bool on_frame_end() {
    if (is_control(op)) {
      std::span<uint8_t> payload = whole;
      if (length > 0 && payload.empty()) payload = {ws.message_->control, ws.message_->control_len};
      ctx.on_control(ws, op, payload);
      if (ws.message_ && ws.message_op_ == OpCode::continuation) ctx.release_message(ws);
      else if (ws.message_) ws.message_->control_len = 0;
      return !stop();
    }
    if (skipping()) {
      ctx.drop_message(ws);  // a message our Close cut short between two reads
      return true;
    }
    if (!fin) return true;
    if ((ws.flags_ & WebSocketBase::kCompressedMessage) && !ctx.inflate(ws, {}, true)) return false;
    const OpCode message_op = ws.message_op_;
    ws.message_op_ = OpCode::continuation;
    ws.flags_ &= ~WebSocketBase::kCompressedMessage;
    if (message_op == OpCode::text && !ws.utf8_.finish()) return fail(close_code::kInvalidPayload);
    std::string_view payload;
    if (whole.data()) {
      payload = {reinterpret_cast<char*>(whole.data()), whole.size()};
    } else if (ws.message_) {
      payload = ws.message_->data;
    }
    ctx.stats_.messages_in.add();
    ctx.stats_.bytes_in.add(payload.size());
    if (ws.state_ == WebSocketBase::kOpen) ctx.emit_message(ws, payload, message_op);
    ctx.release_message(ws);
    return !stop();
  }

  void on_frame_error(uint16_t code) { ctx.fail(ws, code); }

  bool fail(uint16_t code) {
    ctx.fail(ws, code);
    return false;
  }
  bool too_big() {
    ctx.refuse(ws, close_code::kMessageTooBig, ctx.stats_.too_big, {});
    return false;
  }
};

// RFC 7692 §7.2.2: inflate a compressed message as its frames arrive (bounded by max_message_size),
// validating text as it is produced, so 1009 and 1007 come as early as for plain messages.
bool WebSocketContext::inflate(WebSocketBase& ws, std::span<const uint8_t> chunk, bool last) {
  std::string& out = message(ws).data;
  const size_t before = out.size();  // what the message inflated to so far
  Compression& z = compression();
  InflateParams params = inflate_params(ws);
  // Inflation stops at the least of three limits, each with its own close code: the message's own
  // (1009), what the connection may still inflate (1008), and what the shard's budget leaves beside
  // what the buffer already holds (1013). So a bomb costs no more work or memory than is allowed.
  uint16_t code = close_code::kMessageTooBig;
  Counter* counter = &stats_.too_big;
  const char* reason = "";
  if (const size_t allowance = inflate_allowance(ws); allowance < params.max_message_size - before) {
    params.max_message_size = before + allowance;
    code = close_code::kPolicyViolation;
    counter = &stats_.inflate_budget;
    reason = "inflating too fast";
  }
  Inflater& inflater = ws.extras_->inflater;
  size_t room = out.capacity() - before + budget_->left();
  if (!inflater.holds_stream() && params.no_context_takeover) {
    room = room > Inflater::kStreamBytes ? room - Inflater::kStreamBytes : 0;  // the stream it is about to borrow
  }
  if (room < params.max_message_size - before) {
    params.max_message_size = before + room;
    code = close_code::kTryAgainLater;
    counter = &stats_.shard_budget;
    reason = "server busy";
  }
  const InflateStatus st =
      last ? inflater.finish(z.inflaters, params, out)
           : inflater.feed(z.inflaters, params, {reinterpret_cast<const char*>(chunk.data()), chunk.size()}, out);
  const size_t produced = out.size() - before;
  stats_.inflated_bytes.add(produced);
  ws.extras_->inflate_budget.spend(inflate_rate_, static_cast<double>(produced), loop_.shard().now_ms());
  recount(ws);
  if (st == InflateStatus::too_big) {
    refuse(ws, code, *counter, reason);
    return false;
  }
  if (st != InflateStatus::ok) {
    fail(ws, inflate_close_code(st));
    return false;
  }
  if (ws.message_op_ == OpCode::text) {
    const std::span<const uint8_t> fresh(reinterpret_cast<const uint8_t*>(out.data()) + before, out.size() - before);
    if (ws.utf8_.feed(fresh) != fresh.size()) {
      fail(ws, close_code::kInvalidPayload);
      return false;
    }
  }
  return true;
}

size_t WebSocketContext::on_data(Connection& c, std::span<uint8_t> data) {
  WebSocketBase& ws = *static_cast<WebSocketBase*>(c.context);
  if (ws.state_ == WebSocketBase::kClosed) return data.size();
  ws.last_seen_ms_ = now_ms();
  Reader reader{*this, ws};
  if (ws.message_ && ws.parser_.payload_remaining() > 0) {
    // A frame that began in an earlier read continues.
    reader.op = ws.message_->frame_op;
    reader.fin = ws.message_->frame_fin;
    reader.length = ws.parser_.payload_remaining() + (is_control(reader.op) ? ws.message_->control_len : 0);
  }
  // Sizes are checked by the reader against the whole message, so the parser's own cap is off.
  const size_t used = ws.parser_.parse(data, UINT64_MAX, reader);
  if (ws.state_ == WebSocketBase::kClosed) return data.size();
  if (ws.parser_.payload_remaining() > 0) {
    // The frame continues in the next read: remember what kind it is.
    WebSocketMessage& m = message(ws);
    m.frame_op = reader.op;
    m.frame_fin = reader.fin;
  }
  return used;
}

void WebSocketContext::on_control(WebSocketBase& ws, OpCode op, std::span<uint8_t> payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  switch (op) {
    case OpCode::ping:
      // RFC 6455 §5.5.2: answer with a Pong carrying the same payload (not after our Close).
      if (ws.state_ == WebSocketBase::kOpen) {
        write_frame(ws, OpCode::pong, text, false);
        emit_ping(ws, text);
      }
      return;
    case OpCode::pong:
      // §5.5.3: a pong answers our heartbeat; an unsolicited one is fine too.
      if (ws.flags_ & WebSocketBase::kAwaitingPong) {
        ws.flags_ &= ~WebSocketBase::kAwaitingPong;
        // The timer waits for the pong deadline; the next ping is due ping_interval after the last.
        if (ws.state_ == WebSocketBase::kOpen) arm_timer(ws);
      }
      if (ws.state_ == WebSocketBase::kOpen) emit_pong(ws, text);
      return;
    case OpCode::close: {
      // §5.5.1, §7.4: check the code and reason; answer with the same code, then close TCP.
      const ClosePayload cp = validate_close_payload(payload);
      if (cp.error) {
        fail(ws, cp.error);
        return;
      }
      if (ws.state_ == WebSocketBase::kOpen) {
        if (cp.code == close_code::kNoStatus) {
          write_frame(ws, OpCode::close, {}, false);
        } else {
          send_close(ws, cp.code, {});
        }
        leave_open(ws, cp.code, cp.reason);
      }
      // Either side's handshake is complete: the server closes TCP first (§7.1.1); a client closes
      // too, after the server had its chance, once its own Close is out.
      ws.state_ = WebSocketBase::kClosed;
      loop_.close(*ws.conn_);
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

void WebSocketContext::write_frame(WebSocketBase& ws, OpCode op, std::string_view payload, bool rsv1) {
  Connection& c = *ws.conn_;
  const bool masked = role_ == Role::client;  // RFC 6455 §5.3: clients mask every frame, servers none
  const size_t header = frame_header_size(payload.size(), masked);
  std::span<uint8_t> room = loop_.write_reserve(c, header + payload.size());
  uint8_t key[4];
  MaskKey mask = 0;
  if (masked) {
    mask = masks_.next();
    store_mask_key(mask, key);
  }
  write_frame_header(room.data(), op, true, rsv1, payload.size(), masked ? key : nullptr);
  if (masked) {
    mask_bytes(room.data() + header, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), mask);
  } else if (!payload.empty()) {
    std::memcpy(room.data() + header, payload.data(), payload.size());
  }
  loop_.write_commit(c, header + payload.size());
}

SendStatus WebSocketContext::send(WebSocketBase& ws, std::string_view message, OpCode op, bool compress) {
  if (loop_.buffered_amount(*ws.conn_) > limits_.max_backpressure) {
    stats_.dropped.add();
    if (limits_.close_on_backpressure_limit) {
      close(ws, close_code::kPolicyViolation, "too slow");
    } else {
      loop_.request_drain(*ws.conn_);
    }
    return SendStatus::dropped;
  }
  bool compressed = false;
  if (compress && (ws.flags_ & WebSocketBase::kDeflate) && deflate_.should_compress(message.size())) {
    // Without context takeover on our side, so a failed or useless compression may simply be skipped.
    Compression& z = compression();
    z.scratch.clear();
    const DeflateResult r = z.deflater.compress(message, send_window_bits(ws), z.scratch);
    if (r.size > 0 && r.size < message.size()) {
      write_frame(ws, op, z.scratch, true);
      compressed = true;
    }
  }
  if (!compressed) write_frame(ws, op, message, false);
  stats_.messages_out.add();
  stats_.bytes_out.add(message.size());
  if (loop_.buffered_amount(*ws.conn_) > limits_.max_backpressure) {
    loop_.request_drain(*ws.conn_);
    return SendStatus::backpressure;
  }
  return SendStatus::sent;
}

void WebSocketContext::ping(WebSocketBase& ws, std::string_view payload) {
  write_frame(ws, OpCode::ping, payload.substr(0, kMaxControlPayload), false);
}

void WebSocketContext::authenticate(WebSocketBase& ws) {
  ws.flags_ &= ~WebSocketBase::kPendingAuth;
  if (ws.state_ != WebSocketBase::kOpen) return;
  ws.ping_sent_ms_ = now_ms();  // the 101's time until now; heartbeats are counted from here
  arm_timer(ws);
}

void WebSocketContext::send_close(WebSocketBase& ws, uint16_t code, std::string_view reason) {
  uint8_t payload[kMaxControlPayload];
  const size_t n = write_close_payload(payload, code, reason);
  write_frame(ws, OpCode::close, {reinterpret_cast<char*>(payload), n}, false);
}

void WebSocketContext::leave_open(WebSocketBase& ws, int code, std::string_view reason) {
  if (ws.state_ != WebSocketBase::kOpen) return;
  ws.state_ = WebSocketBase::kClosing;
  stats_.open.sub();
  emit_close(ws, code, reason);
  if (rooms_) rooms_->unsubscribe_all(ws);  // a closing socket receives no more publications
}

void WebSocketContext::close(WebSocketBase& ws, uint16_t code, std::string_view reason) {
  // RFC 6455 §7.4.1: 1005 means "no code" (an empty Close payload); 1006, 1015 and unassigned codes
  // never go on the wire, so an application that passes one closes normally instead.
  if (code == close_code::kNoStatus) {
    write_frame(ws, OpCode::close, {}, false);
  } else {
    send_close(ws, close_code_valid_on_wire(code) ? code : close_code::kNormal, reason);
  }
  ws.ping_sent_ms_ = now_ms();  // from now on: when our Close left
  leave_open(ws, code, reason);
  if (ws.state_ == WebSocketBase::kClosing) arm_timer(ws);
}

void WebSocketContext::fail(WebSocketBase& ws, uint16_t code, std::string_view reason) {
  // RFC 6455 §7.1.7: send a Close frame (if ours is not out yet), then close the TCP connection.
  if (ws.state_ == WebSocketBase::kClosed) return;
  if (code == close_code::kProtocolError || code == close_code::kInvalidPayload || code == close_code::kMessageTooBig) {
    stats_.protocol_errors.add();
  }
  if (ws.state_ == WebSocketBase::kOpen) send_close(ws, code, reason);
  leave_open(ws, code, reason);
  ws.state_ = WebSocketBase::kClosed;
  loop_.close(*ws.conn_);
}

void WebSocketContext::refuse(WebSocketBase& ws, uint16_t code, Counter& counter, std::string_view reason) {
  if (ws.state_ == WebSocketBase::kClosed) return;
  counter.add();
  fail(ws, code, reason);
}

void WebSocketContext::end(WebSocketBase& ws) {
  leave_open(ws, close_code::kAbnormal, {});
  ws.state_ = WebSocketBase::kClosed;
  loop_.abort(*ws.conn_, -ECONNABORTED);
}

// ---------------------------------------------------------------------------------------------
// Connection events

void WebSocketContext::on_drain(Connection& c) {
  auto& ws = *static_cast<WebSocketBase*>(c.context);
  if (ws.state_ != WebSocketBase::kOpen) return;
  if (rooms_) rooms_->drained(ws);  // the next part of a long durable-room replay
  if (ws.state_ == WebSocketBase::kOpen) emit_drain(ws);
}

void WebSocketContext::on_shutdown(Connection& c) {
  auto& ws = *static_cast<WebSocketBase*>(c.context);
  if (!go_away(c, close_code::kGoingAway, "server shutting down") && ws.state_ == WebSocketBase::kClosing) {
    arm_timer(ws);
  }
}

bool WebSocketContext::go_away(Connection& c, uint16_t code, std::string_view reason) {
  auto& ws = *static_cast<WebSocketBase*>(c.context);
  if (ws.state_ != WebSocketBase::kOpen) return false;
  close(ws, code, reason);
  return true;
}

void WebSocketContext::on_close(Connection& c, int) {
  auto& ws = *static_cast<WebSocketBase*>(c.context);
  leave_open(ws, close_code::kAbnormal, {});  // TCP went away without a closing handshake
  ws.state_ = WebSocketBase::kClosed;
  release_message(ws);
  release_extras(ws);
  destroy(ws);
}

// One timer per connection, armed for the earliest of: the close-handshake deadline (closing), the
// pong deadline, the next heartbeat ping, the idle deadline. Receiving frames only updates
// timestamps; the timer re-arms itself when it finds its deadline moved.
void WebSocketContext::arm_timer(WebSocketBase& ws) {
  const uint32_t now = now_ms();
  auto due_in = [now](uint32_t since, std::chrono::milliseconds span) -> int64_t {
    return static_cast<int64_t>(span.count()) - static_cast<int32_t>(now - since);
  };
  int64_t wait = -1;
  auto consider = [&wait](int64_t w) {
    if (w < 0) w = 0;
    if (wait < 0 || w < wait) wait = w;
  };
  if (ws.state_ == WebSocketBase::kClosing) {
    consider(due_in(ws.ping_sent_ms_, limits_.close_timeout));
  } else if (ws.state_ == WebSocketBase::kOpen) {
    if (limits_.idle_timeout.count() > 0) consider(due_in(ws.last_seen_ms_, limits_.idle_timeout));
    if (auth_deadline(ws)) {
      consider(due_in(ws.ping_sent_ms_, limits_.auth_timeout));
    } else if (limits_.ping_interval.count() > 0) {
      const auto pong = limits_.pong_timeout.count() > 0 ? limits_.pong_timeout : limits_.ping_interval;
      consider(due_in(ws.ping_sent_ms_, (ws.flags_ & WebSocketBase::kAwaitingPong) ? pong : limits_.ping_interval));
    }
  }
  if (wait < 0) {
    loop_.timers().cancel(ws.conn_->timer);
  } else {
    loop_.timers().schedule_in(ws.conn_->timer, static_cast<uint64_t>(wait));
  }
}

void WebSocketContext::on_timeout(Connection& c) {
  auto& ws = *static_cast<WebSocketBase*>(c.context);
  const uint32_t now = now_ms();
  auto elapsed = [now](uint32_t since) { return std::chrono::milliseconds(static_cast<int32_t>(now - since)); };
  if (ws.state_ == WebSocketBase::kClosing) {
    if (elapsed(ws.ping_sent_ms_) >= limits_.close_timeout) {
      ws.state_ = WebSocketBase::kClosed;  // the peer never answered our Close
      loop_.close(c);
      return;
    }
  } else if (ws.state_ == WebSocketBase::kOpen) {
    if (auth_deadline(ws) && elapsed(ws.ping_sent_ms_) >= limits_.auth_timeout) {
      stats_.auth_timeouts.add();
      close(ws, close_code::kPolicyViolation, "not authenticated in time");
      return;
    }
    const auto pong = limits_.pong_timeout.count() > 0 ? limits_.pong_timeout : limits_.ping_interval;
    if ((ws.flags_ & WebSocketBase::kAwaitingPong) && elapsed(ws.ping_sent_ms_) >= pong) {
      fail(ws, close_code::kGoingAway, "no pong");  // presumed dead: no handshake to wait for
      return;
    }
    if (limits_.idle_timeout.count() > 0 && elapsed(ws.last_seen_ms_) >= limits_.idle_timeout) {
      close(ws, close_code::kGoingAway, "idle timeout");
      return;
    }
    if (limits_.ping_interval.count() > 0 && !auth_deadline(ws) && !(ws.flags_ & WebSocketBase::kAwaitingPong) &&
        elapsed(ws.ping_sent_ms_) >= limits_.ping_interval) {
      write_frame(ws, OpCode::ping, {}, false);
      ws.flags_ |= WebSocketBase::kAwaitingPong;
      ws.ping_sent_ms_ = now;
    }
  }
  arm_timer(ws);
}

}  // namespace ringcast
