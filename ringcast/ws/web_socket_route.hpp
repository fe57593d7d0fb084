#pragma once
// WebSocketBehavior<UserData>: what an application says about one WebSocket route — its callbacks
// and limits, filled with designated initializers — and WebSocketRoute<UserData>, which serves it on
// one shard: the upgrade (RFC 6455 §4.2), then the application's callbacks with WebSocket<UserData>.
//
// Threads: every shard runs the same behavior, so callbacks run concurrently on all shards; each
// call sees only its own shard's connections. Keep shared state in the shard (see App::on_shard).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/net/http/http_server.hpp>
#include <ringcast/ws/detail/callback_context.hpp>
#include <ringcast/ws/handshake/server_handshake.hpp>

namespace ringcast {

// The decision on_upgrade takes: accept with this connection's user data (and optionally another
// subprotocol than the one picked), or reject with an HTTP status. Deciding nothing rejects (500).
template <typename UserData>
class Upgrade {
 public:
  explicit Upgrade(const HandshakeCheck& check) noexcept : protocol_(check.protocol), origin_(check.origin) {}

  void accept(UserData data = UserData{}) { data_.emplace(std::move(data)); }
  void accept(UserData data, std::string_view protocol) {
    data_.emplace(std::move(data));
    protocol_ = protocol;
  }
  void reject(int status, std::string body = {}) {
    status_ = status;
    body_ = std::move(body);
  }

  // The Origin header (empty for non-browser clients) and the subprotocol picked from the route's list.
  std::string_view origin() const noexcept { return origin_; }
  std::string_view protocol() const noexcept { return protocol_; }

  bool accepted() const noexcept { return data_.has_value() && status_ == 0; }
  int status() const noexcept { return status_; }
  const std::string& body() const noexcept { return body_; }
  UserData take() { return std::move(*data_); }

 private:
  std::optional<UserData> data_;
  int status_ = 0;
  std::string body_;
  std::string_view protocol_;
  std::string_view origin_;
};

template <typename UserData>
struct WebSocketBehavior {
  using Socket = WebSocket<UserData>;

  // Decides on an upgrade request (authentication, origin, user data). Absent: accept with UserData{}.
  std::function<void(Request&, Upgrade<UserData>&)> on_upgrade;
  std::function<void(Socket&)> on_open;
  // A whole message; `message` is valid during the call only.
  std::function<void(Socket&, std::string_view message, OpCode op)> on_message;
  // Everything queued has left after a send() said backpressure or dropped.
  std::function<void(Socket&)> on_drain;
  std::function<void(Socket&, std::string_view payload)> on_ping;  // already answered with a pong
  std::function<void(Socket&, std::string_view payload)> on_pong;
  // Once per connection: closed by either side (code and reason of the Close frame), failed
  // (1002/1007/1009...), or dropped without a handshake (1006). Do not use the socket after it.
  std::function<void(Socket&, int code, std::string_view reason)> on_close;
  // A durable room's live stream starts for this socket (subscribe with SubscribeOptions), right
  // before its replay is sent; again, with recovered = false, if the stream later broke beyond repair.
  std::function<void(Socket&, std::string_view room, const SubscribeResult& result)> on_subscribed;

  // The largest message, counted after inflation (1009 beyond). 64 KiB: a chat line, a JSON document,
  // a game input fit many times over, and a message bomb at the limit costs a fraction of a
  // millisecond to inflate. Raise it for routes that carry files or large documents.
  size_t max_message_size = 64 << 10;
  // send() queues no more once this many bytes wait (the message that crosses it still goes); a room
  // member is not sent a publication that would take it past this (its room's slow-consumer policy).
  size_t max_backpressure = 1 << 20;
  bool close_on_backpressure_limit = false;
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds ping_interval{0};
  std::chrono::milliseconds pong_timeout{0};
  std::chrono::milliseconds close_timeout{2'000};
  std::vector<std::string> allowed_origins;  // e.g. "http://localhost:8080"; empty: any origin
  std::vector<std::string> protocols;        // subprotocols spoken, in order of preference
  // permessage-deflate (RFC 7692): set .enabled to negotiate it; see
  // ringcast/ws/deflate/permessage_deflate.hpp.
  DeflateOptions compression = DeflateOptions{.enabled = false};
  // With compression: bytes one connection may inflate per second on average, and at once (0: one
  // second's worth, and never less than max_message_size); a message beyond closes with 1008, so a
  // client sending bombs costs at most this much inflating (0: no limit). 4 MiB/s is ~100 times what a
  // chat or a game client sends and about 1 % of a core of inflation.
  size_t max_inflate_rate = 4 << 20;
  size_t inflate_burst = 0;

  WebSocketOptions options() const { return options_of(*this); }
};

template <typename UserData>
class WebSocketRoute final : public CallbackContext<UserData, const WebSocketBehavior<UserData>&> {
  using Base = CallbackContext<UserData, const WebSocketBehavior<UserData>&>;
  using Base::behavior_;
  using Base::set_slot;
  using Base::sockets_;

 public:
  using Socket = WebSocket<UserData>;

  // `behavior` is shared by every shard's route and must outlive them.
  WebSocketRoute(Loop& loop, const WebSocketBehavior<UserData>& behavior) : Base(loop, Role::server, behavior) {}

  // The HTTP server's upgrade hook for this route.
  void upgrade(Connection& c, Request& req, Response& res) {
    const HandshakeCheck check = check_upgrade_request(req.http(), behavior_.allowed_origins, behavior_.protocols);
    if (check.status) {
      if (check.status == 426) res.header("Upgrade", "websocket").header("Sec-WebSocket-Version", "13");
      res.status(check.status).close().send(check.reason);
      return;
    }
    Upgrade<UserData> up(check);
    if (behavior_.on_upgrade) {
      behavior_.on_upgrade(req, up);
    } else {
      up.accept();
    }
    if (!up.accepted()) {
      res.status(up.status() ? up.status() : 500).close().send(up.status() ? up.body() : "the upgrade was not decided");
      return;
    }
    // RFC 7692 §5: answer the first permessage-deflate offer we can serve (offers may span several
    // Sec-WebSocket-Extensions lines, which RFC 9110 §5.3 lets us join with commas).
    DeflateNegotiation deflate;
    if (this->options().compression.enabled) {
      std::string offers;
      for (const HttpHeader& h : req.http().headers()) {
        if (!ascii_iequals(h.name, "Sec-WebSocket-Extensions")) continue;
        if (!offers.empty()) offers += ", ";
        offers += h.value;
      }
      if (!offers.empty()) deflate = negotiate_deflate(offers, this->options().compression);
    }
    scratch_.clear();
    write_upgrade_response(scratch_, check.key, up.protocol(),
                           deflate.agreement.enabled ? deflate.response_value() : std::string_view{});
    this->loop().write(c, scratch_);
    auto [ws, slot] = sockets_.alloc(up.take());
    set_slot(*ws, slot);
    this->adopt(c, *ws, deflate.agreement);
  }

 private:
  std::string scratch_;
};

}  // namespace ringcast
