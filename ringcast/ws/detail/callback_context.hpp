#pragma once
// CallbackContext<UserData, Behavior>: a WebSocketContext that owns its sockets as
// WebSocket<UserData> and hands every event to the callbacks of a behaviour (on_open, on_message,
// on_drain, on_ping, on_pong, on_close, on_subscribed, and on_error where the behaviour has one). The server's
// WebSocketRoute keeps a reference to a behaviour every shard shares (Behavior = const B&); the
// WebSocketClient keeps its own copy (Behavior = B). Every view a callback receives has a non-null
// data(), also when empty (ringcast/core/detail/non_null.hpp).
#include <string_view>
#include <type_traits>
#include <utility>

#include <ringcast/core/detail/non_null.hpp>
#include <ringcast/core/detail/slab.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>

namespace ringcast {

template <typename UserData, typename Behavior>
class CallbackContext : public WebSocketContext {
 public:
  using Socket = WebSocket<UserData>;

 protected:
  CallbackContext(Loop& loop, Role role, Behavior behavior)
      : WebSocketContext(loop, role, behavior.limits, behavior.compression), behavior_(std::forward<Behavior>(behavior)) {}

  static Socket& typed(WebSocketBase& ws) noexcept { return static_cast<Socket&>(ws); }

  void emit_open(WebSocketBase& ws) override {
    if (behavior_.on_open) behavior_.on_open(typed(ws));
  }
  void emit_message(WebSocketBase& ws, std::string_view message, OpCode op) override {
    if (behavior_.on_message) behavior_.on_message(typed(ws), non_null(message), op);
  }
  void emit_drain(WebSocketBase& ws) override {
    if (behavior_.on_drain) behavior_.on_drain(typed(ws));
  }
  void emit_ping(WebSocketBase& ws, std::string_view payload) override {
    if (behavior_.on_ping) behavior_.on_ping(typed(ws), non_null(payload));
  }
  void emit_pong(WebSocketBase& ws, std::string_view payload) override {
    if (behavior_.on_pong) behavior_.on_pong(typed(ws), non_null(payload));
  }
  void emit_close(WebSocketBase& ws, int code, std::string_view reason) override {
    if (behavior_.on_close) behavior_.on_close(typed(ws), code, non_null(reason));
  }
  void emit_error([[maybe_unused]] WebSocketBase& ws, [[maybe_unused]] std::string_view why) override {
    if constexpr (requires(std::remove_cvref_t<Behavior>& b) { b.on_error; }) {
      if (behavior_.on_error) behavior_.on_error(typed(ws), non_null(why));
    }
  }
  void emit_subscribed(WebSocketBase& ws, std::string_view room, const SubscribeResult& result) override {
    if (behavior_.on_subscribed) behavior_.on_subscribed(typed(ws), non_null(room), result);
  }
  void destroy(WebSocketBase& ws) override { sockets_.free(slot_of(ws)); }

  Behavior behavior_;
  Slab<Socket> sockets_;
};

}  // namespace ringcast
