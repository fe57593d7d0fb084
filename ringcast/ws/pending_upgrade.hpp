#pragma once
// PendingUpgrade<UserData>: the handle of a WebSocket upgrade whose decision comes later — for
// on_upgrade hooks that authenticate against something asynchronous (a one-time token taken from
// Redis, an auth service, a password hash on a WorkerPool). Upgrade::defer()
// (ringcast/ws/web_socket_route.hpp) returns it:
//
//   .on_upgrade = [&pool](Request& req, Upgrade<User>& up) {
//     pool.submit([pending = up.defer(), token = req.query("token")] {  // copies: req is gone after
//       if (auto name = check_token(token)) pending.accept(User{*name});
//       else pending.reject(401, "bad token");
//     });
//   },
//
// What survives the deferral: the upgrade's terms, settled when it was deferred — the
// Sec-WebSocket-Accept value, the permessage-deflate negotiation (agreement and response element),
// the subprotocol picked from the route's list, and the Origin. The Request does not: on_upgrade
// copies what the decision needs (query parameters, a cookie, a header) before it returns.
//
// Threads: accept() and reject() may be called from any thread, as long as the App exists; the
// decision runs on the connection's shard (from that shard itself, as a deferred task: never inside
// the calling callback), through the HTTP server's deferred answers (PendingResponse,
// ringcast/net/http/http_server.hpp), so every rule of those holds:
//   - the first decision to reach the shard wins; later ones are dropped there (the decisions of one
//     thread reach it in the order they were made);
//   - a decision for a connection that has closed meanwhile (the client left, the shard stopped) is
//     dropped: no on_open runs, and its user data is destroyed on the shard (or, once the App has
//     stopped, wherever its undelivered tasks are destroyed);
//   - until the decision, the bytes the client sent behind its request (its first frames) wait
//     unparsed; an accept hands them to the WebSocket before anything read later, a reject drops
//     them with the connection;
//   - no decision within HttpServerOptions::answer_timeout_ms: 503, and the connection closes;
//   - while it waits, the upgrade counts as a pending answer (HttpServerHandler::pending_answers).
//
// Memory: 48 bytes, copyable; the copies share the terms (one allocation per deferral, read-only
// once made). Each decision allocates its own record, which travels to the shard.
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <ringcast/core/detail/non_null.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/http/http_server.hpp>
#include <ringcast/ws/handshake/server_handshake.hpp>

namespace ringcast {

template <typename UserData>
class WebSocketRoute;

template <typename UserData>
class PendingUpgrade {
 public:
  PendingUpgrade() noexcept = default;

  // Any thread. Accepts with this connection's user data: the 101 goes out with the terms settled at
  // the deferral, and on_open runs on the connection's shard with `data`.
  void accept(UserData data = UserData{}) const {
    if (state_) accept(std::move(data), state_->protocol);
  }
  // Same, answering with another subprotocol than the one picked (copied).
  void accept(UserData data, std::string_view protocol) const { decide(std::move(data), protocol, true); }
  // Any thread. Accepts a connection that is not authenticated yet, as Upgrade::accept_pending_auth.
  void accept_pending_auth(UserData data = UserData{}) const {
    if (state_) decide(std::move(data), state_->protocol, false);
  }
  void accept_pending_auth(UserData data, std::string_view protocol) const { decide(std::move(data), protocol, false); }
  // Any thread. Refuses with `status` (0: 500) and `body`; the connection closes after it.
  void reject(int status, std::string body = {}) const;

  // The Origin header of the request (empty for non-browser clients) and the subprotocol picked from
  // the route's list (empty: none). Any thread.
  std::string_view origin() const noexcept { return non_null(state_ ? state_->origin : std::string_view{}); }
  std::string_view protocol() const noexcept { return non_null(state_ ? state_->protocol : std::string_view{}); }

  // False for a default-constructed handle (and one from an Upgrade that could not defer).
  explicit operator bool() const noexcept { return state_ != nullptr; }
  // The connection's shard (for logs and tests).
  unsigned shard() const noexcept { return response_.shard(); }

 private:
  friend class WebSocketRoute<UserData>;
  // Settled at the deferral, on the connection's shard; read-only from then on.
  struct State {
    UpgradeTerms terms;
    std::string protocol;
    std::string origin;
    WebSocketRoute<UserData>* route;  // the connection's shard's: dereferenced there only
  };
  PendingUpgrade(PendingResponse response, std::shared_ptr<const State> state) noexcept
      : response_(std::move(response)), state_(std::move(state)) {}
  void decide(UserData data, std::string_view protocol, bool authenticated) const;

  PendingResponse response_;
  std::shared_ptr<const State> state_;
};

template <typename UserData>
void PendingUpgrade<UserData>::decide(UserData data, std::string_view protocol, bool authenticated) const {
  if (!state_) return;
  // A deferred answer is a std::function, which takes copyable callables only: the decision travels
  // as one shared record that only the answer holds (moved in, no copy left on this thread), so the
  // user data is destroyed with the answer, on the connection's shard, whether it runs or is dropped.
  struct Accepted {
    std::shared_ptr<const State> state;
    std::string protocol;
    UserData data;
    bool authenticated;
  };
  auto accepted = std::make_shared<Accepted>(Accepted{state_, std::string(protocol), std::move(data), authenticated});
  response_.upgrade([accepted = std::move(accepted)](Connection& c, Response&) {
    const State& s = *accepted->state;
    s.route->open(c, s.terms, accepted->protocol, std::move(accepted->data), accepted->authenticated);
  });
}

template <typename UserData>
void PendingUpgrade<UserData>::reject(int status, std::string body) const {
  if (!state_) return;
  response_.answer([status, body = std::move(body)](Response& res) {
    WebSocketRoute<UserData>::refuse(res, status, body);
  });
}

}  // namespace ringcast
