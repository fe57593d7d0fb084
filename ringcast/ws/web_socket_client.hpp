#pragma once
// WebSocketClient<UserData>: WebSocket connections opened by this process, on a shard's loop, with the
// same codec, limits and callbacks as the server side (frames are masked, RFC 6455 §5.3). One client
// per shard per kind of connection; create it and call connect() on that shard's thread.
//
//   WebSocketClient<Peer> client(Loop::current(), {
//       .on_open = [](WebSocket<Peer>& ws) { ws.send("hello"); },
//       .on_message = [](WebSocket<Peer>& ws, std::string_view msg, OpCode) { ... },
//       .on_error = [](WebSocket<Peer>&, std::string_view why) { ... },   // never opened
//   });
//   client.connect(*WebSocketUrl::parse("ws://127.0.0.1:9001/echo", error), Peer{});
//
// Each connection ends in exactly one of: on_error (connect or handshake failed), or on_open … on_close.
#include <functional>

#include <ringcast/ws/detail/callback_context.hpp>
#include <ringcast/ws/handshake/client_handshake.hpp>
#include <ringcast/ws/web_socket_limits.hpp>
#include <ringcast/ws/web_socket_url.hpp>

namespace ringcast {

template <typename UserData>
struct ClientBehavior {
  using Socket = WebSocket<UserData>;

  std::function<void(Socket&)> on_open;
  std::function<void(Socket&, std::string_view message, OpCode op)> on_message;
  std::function<void(Socket&)> on_drain;
  std::function<void(Socket&, std::string_view payload)> on_ping;
  std::function<void(Socket&, std::string_view payload)> on_pong;
  std::function<void(Socket&, int code, std::string_view reason)> on_close;
  std::function<void(Socket&, std::string_view room, const SubscribeResult& result)> on_subscribed;
  std::function<void(Socket&, std::string_view why)> on_error;

  // A client's own defaults: messages and queues up to 16 MiB, and no idle timeout (the application
  // or its server's pings decide when a quiet connection is dead), no inflate budget (a client chose
  // its server). A `.limits = {...}` of its own starts from WebSocketLimits' defaults, a server
  // route's, idle_timeout and inflate budget included.
  WebSocketLimits limits = {
      .max_message_size = 16 << 20, .max_backpressure = 16 << 20, .idle_timeout = {}, .max_inflate_rate = 0};
  // Subprotocols, Origin, the handshake's timeout, TLS for wss:// URLs.
  ClientHandshakeOptions handshake;
  // permessage-deflate: offered when enabled; messages sent with compress=true are then compressed.
  DeflateOptions compression = DeflateOptions{.enabled = false};
};

template <typename UserData>
class WebSocketClient final : public CallbackContext<UserData, ClientBehavior<UserData>> {
  using Base = CallbackContext<UserData, ClientBehavior<UserData>>;
  using Base::behavior_;
  using Base::set_slot;
  using Base::sockets_;

 public:
  using Socket = WebSocket<UserData>;

  WebSocketClient(Loop& loop, ClientBehavior<UserData> behavior)
      : Base(loop, Role::client, std::move(behavior)), handshake_(*this, behavior_.handshake) {}

  // Starts a connection; its outcome arrives as on_open or on_error. False (errno set, nothing
  // called) when no socket could be made, e.g. at the descriptor limit. `from` binds a source address.
  bool connect(const WebSocketUrl& url, UserData data = UserData{}, const SocketAddress* from = nullptr) {
    auto [ws, slot] = sockets_.alloc(std::move(data));
    set_slot(*ws, slot);
    if (!handshake_.start(url, *ws, from)) {
      sockets_.free(slot);
      return false;
    }
    return true;
  }

  size_t connections() const noexcept { return sockets_.live(); }

 private:
  ClientHandshake handshake_;
};

}  // namespace ringcast
