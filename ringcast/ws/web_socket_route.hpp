#pragma once
// WebSocketBehavior<UserData>: what an application says about one WebSocket route — its callbacks
// and limits, filled with designated initializers — and WebSocketRoute<UserData>, which serves it on
// one shard: the upgrade (RFC 6455 §4.2), decided at once or later (Upgrade::defer, see
// ringcast/ws/pending_upgrade.hpp), then the application's callbacks with WebSocket<UserData>.
//
// Threads: every shard runs the same behavior, so callbacks run concurrently on all shards; each
// call sees only its own shard's connections. Keep shared state in the shard (see App::on_shard_start).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/net/http/http_server.hpp>
#include <ringcast/ws/detail/callback_context.hpp>
#include <ringcast/ws/handshake/server_handshake.hpp>
#include <ringcast/ws/pending_upgrade.hpp>
#include <ringcast/ws/web_socket_limits.hpp>

namespace ringcast {

// The decision on_upgrade takes: accept with this connection's user data (and optionally another
// subprotocol than the one picked), or reject with an HTTP status. Deciding nothing rejects (500).
// Or defer it: defer() returns a PendingUpgrade (ringcast/ws/pending_upgrade.hpp) through which any
// thread decides later. Or accept pending authentication, for clients that prove who they are over
// the WebSocket itself (a token in their first message): the connection is held to the limits before
// authentication (WebSocketLimits: a small message, no rooms, a deadline) until the application calls
// WebSocket::authenticate(). Valid during on_upgrade only, like the Request.
template <typename UserData>
class Upgrade {
 public:
  explicit Upgrade(const HandshakeCheck& check) noexcept : protocol_(check.protocol), origin_(check.origin) {}

  void accept(UserData data = UserData{}) {
    data_.emplace(std::move(data));
    authenticated_ = true;
  }
  void accept(UserData data, std::string_view protocol) {
    accept(std::move(data));
    protocol_ = protocol;
  }
  // Accepts a connection that is not authenticated yet (see above and WebSocketLimits).
  void accept_pending_auth(UserData data = UserData{}) {
    data_.emplace(std::move(data));
    authenticated_ = false;
  }
  void accept_pending_auth(UserData data, std::string_view protocol) {
    accept_pending_auth(std::move(data));
    protocol_ = protocol;
  }
  void reject(int status, std::string body = {}) {
    status_ = status;
    body_ = std::move(body);
  }
  // The decision comes later, through the returned handle; accept and reject here are then ignored,
  // and a second call returns the same handle. The upgrade's terms (accept value, permessage-deflate,
  // subprotocol, Origin) are settled now; the Request is not kept: copy what the decision needs from
  // it before on_upgrade returns. Empty when this Upgrade cannot defer (not made by a route).
  PendingUpgrade<UserData> defer();

  // The Origin header (empty for non-browser clients) and the subprotocol picked from the route's list.
  std::string_view origin() const noexcept { return non_null(origin_); }
  std::string_view protocol() const noexcept { return non_null(protocol_); }

  bool deferred() const noexcept { return static_cast<bool>(pending_); }
  bool accepted() const noexcept { return data_.has_value() && status_ == 0; }
  // Accepted with accept(), not accept_pending_auth().
  bool authenticated() const noexcept { return authenticated_; }
  int status() const noexcept { return status_; }
  const std::string& body() const noexcept { return body_; }
  UserData take() { return std::move(*data_); }

 private:
  friend class WebSocketRoute<UserData>;
  // What defer() needs, all owned by the route's upgrade() call that made this Upgrade.
  struct Source {
    WebSocketRoute<UserData>& route;
    const HandshakeCheck& check;
    const Request& request;
    Response& response;
  };
  explicit Upgrade(const Source& source) noexcept : Upgrade(source.check) { source_ = &source; }

  std::optional<UserData> data_;
  bool authenticated_ = true;
  int status_ = 0;
  std::string body_;
  std::string_view protocol_;
  std::string_view origin_;
  const Source* source_ = nullptr;
  PendingUpgrade<UserData> pending_;
};

template <typename UserData>
struct WebSocketBehavior {
  using Socket = WebSocket<UserData>;

  // Decides on an upgrade request (authentication, origin, user data), at once or, through
  // Upgrade::defer, from any thread later. Absent: accept with UserData{}. A client that
  // authenticates over the WebSocket itself is accepted with Upgrade::accept_pending_auth: until
  // on_message (or any callback) calls ws.authenticate(), it is held to limits.max_message_size_before_auth
  // (1009), cannot subscribe or publish, and is closed with 1008 after limits.auth_timeout.
  std::function<void(Request&, Upgrade<UserData>&)> on_upgrade;
  std::function<void(Socket&)> on_open;
  // A whole message; `message` is valid during the call only. No view a callback receives has a null
  // data(), an empty message neither (it may go to memcpy or a JSON parser as it is).
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

  WebSocketLimits limits;                    // sizes and timers (ringcast/ws/web_socket_limits.hpp)
  std::vector<std::string> allowed_origins;  // e.g. "http://localhost:8080"; empty: any origin
  std::vector<std::string> protocols;        // subprotocols spoken, in order of preference
  // permessage-deflate (RFC 7692): set .enabled to negotiate it; see
  // ringcast/ws/deflate/permessage_deflate.hpp.
  DeflateOptions compression = DeflateOptions{.enabled = false};
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
    const typename Upgrade<UserData>::Source source{*this, check, req, res};
    Upgrade<UserData> up(source);
    if (behavior_.on_upgrade) {
      behavior_.on_upgrade(req, up);
    } else {
      up.accept();
    }
    if (up.deferred()) return;  // the HTTP server holds the connection until the handle decides
    if (!up.accepted()) {
      refuse(res, up.status(), up.status() ? std::string_view(up.body()) : "the upgrade was not decided");
      return;
    }
    const bool authenticated = up.authenticated();
    open(c, settle_upgrade(req.http(), check.key, this->deflate_options()), up.protocol(), up.take(), authenticated);
  }

 private:
  friend class Upgrade<UserData>;
  friend class PendingUpgrade<UserData>;

  // Upgrade::defer: the request's answer is deferred, and what the 101 will say is settled while the
  // request is in hand (this shard's thread).
  PendingUpgrade<UserData> defer(const HandshakeCheck& check, const Request& req, Response& res) {
    PendingResponse response = res.defer();
    if (!response) return {};
    using State = typename PendingUpgrade<UserData>::State;
    auto state = std::make_shared<const State>(State{.terms = settle_upgrade(req.http(), check.key, this->deflate_options()),
                                                     .protocol = std::string(check.protocol),
                                                     .origin = std::string(check.origin),
                                                     .route = this});
    return PendingUpgrade<UserData>(std::move(response), std::move(state));
  }

  // The one end of every accepted upgrade, decided in on_upgrade or later through a PendingUpgrade
  // (this shard's thread, `c` still the HTTP server's): the 101 (RFC 6455 §4.2.2) with `terms` and
  // `protocol`, then `c` is this route's, with a socket holding `data` (`authenticated` or pending
  // authentication); on_open runs here.
  void open(Connection& c, const UpgradeTerms& terms, std::string_view protocol, UserData data, bool authenticated) {
    scratch_.clear();
    write_upgrade_response(scratch_, terms, protocol);
    this->loop().write(c, scratch_);
    auto [ws, slot] = sockets_.alloc(std::move(data));
    set_slot(*ws, slot);
    this->adopt(c, *ws, terms.deflate.agreement, authenticated);
  }

  // The one way an upgrade is refused by its decision, at once or deferred: `status` (0: 500) and
  // `body`, then the connection closes.
  static void refuse(Response& res, int status, std::string_view body) {
    res.status(status ? status : 500).close().send(body);
  }

  std::string scratch_;
};

template <typename UserData>
PendingUpgrade<UserData> Upgrade<UserData>::defer() {
  if (!pending_ && source_) pending_ = source_->route.defer(source_->check, source_->request, source_->response);
  return pending_;
}

}  // namespace ringcast
