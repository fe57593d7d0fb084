#pragma once
// The server side of the opening handshake (RFC 6455 §4.2): checks an upgrade request, and writes
// the 101 response. Pure functions over the parsed request; WebSocketRoute calls them.
#include <span>
#include <string>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

struct HandshakeCheck {
  int status = 0;             // 0: a valid upgrade request; else the HTTP status to refuse with
  std::string_view reason;    // for a refusal: one line saying why
  std::string_view key;       // Sec-WebSocket-Key
  std::string_view origin;    // Origin (may be empty: not a browser)
  std::string_view protocol;  // the subprotocol chosen from the route's list (may be empty)
};

// RFC 6455 §4.2.1 point by point: GET, HTTP/1.1, Host, `Upgrade: websocket`, a Connection header
// with the `upgrade` token, a Sec-WebSocket-Key of 16 base64-encoded bytes (else 400),
// Sec-WebSocket-Version 13 (else 426, answered with the version we speak). A plain request without
// any Upgrade header gets 426 too. `allowed_origins` (empty: any) refuses other browser origins
// with 403; `protocols` is the route's subprotocols in preference order.
HandshakeCheck check_upgrade_request(const HttpRequest& request, std::span<const std::string> allowed_origins,
                                     std::span<const std::string> protocols);

// Appends "HTTP/1.1 101 Switching Protocols" with Sec-WebSocket-Accept for `key`, the chosen
// subprotocol and extension response (each only when not empty).
void write_upgrade_response(std::string& out, std::string_view key, std::string_view protocol,
                            std::string_view extensions);

}  // namespace ringcast
