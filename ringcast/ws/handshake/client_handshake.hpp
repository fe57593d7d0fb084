#pragma once
// ClientHandshake: the client side of the opening handshake (RFC 6455 §4.1) on a freshly connected
// TCP connection — it holds the connection from connect() until the server's 101 is checked, then
// hands it to the WebSocketContext (or reports why not). One per client context per shard.
// wss:// URLs connect with TLS (SNI and certificate check against the URL's host); the timeout
// covers the TCP connect, the TLS handshake and the HTTP upgrade together.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/ws/web_socket.hpp>
#include <ringcast/ws/web_socket_url.hpp>

namespace ringcast {

class WebSocketContext;

// How a client opens its connections (ClientBehavior::handshake). permessage-deflate is offered (with
// client_max_window_bits) when the client context's compression is enabled.
struct ClientHandshakeOptions {
  std::vector<std::string> protocols;  // offered subprotocols, in preference order
  std::string origin;                  // sent as Origin when not empty
  std::chrono::milliseconds timeout{10'000};  // TCP connect, TLS and HTTP upgrade together
  // For wss:// URLs; null: TlsContext::default_client() (verify against the system store).
  std::shared_ptr<const TlsContext> tls;
};

class ClientHandshake final : public ConnectionHandler {
 public:
  ClientHandshake(WebSocketContext& context, ClientHandshakeOptions options);

  // Connects to `url` for `ws` (already allocated with its user data). False, errno set, when no
  // socket could be made (ws is untouched then).
  bool start(const WebSocketUrl& url, WebSocketBase& ws, const SocketAddress* from);

  void on_open(Connection& c) override;
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_timeout(Connection& c) override;
  void on_close(Connection& c, int error) override;

 private:
  struct Pending;  // per connection until the handshake ends
  void fail(Connection& c, std::string why);

  WebSocketContext& context_;
  ClientHandshakeOptions options_;
  std::string request_;
};

}  // namespace ringcast
