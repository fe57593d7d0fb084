#pragma once
// The server side of the opening handshake (RFC 6455 §4.2): checks an upgrade request, settles what
// an accepted one answers, and writes the 101 response. Pure functions over the parsed request;
// WebSocketRoute calls them.
#include <span>
#include <string>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>
#include <ringcast/ws/deflate/permessage_deflate.hpp>
#include <ringcast/ws/handshake/handshake.hpp>

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

// What the 101 of an accepted upgrade says besides the subprotocol, taken from its request: values,
// no views into it, so they outlive the request when the decision is deferred. 168 bytes.
struct UpgradeTerms {
  char accept[kWebSocketAcceptSize] = {};  // Sec-WebSocket-Accept (§4.2.2 item 5.4)
  DeflateNegotiation deflate;              // permessage-deflate: the agreement and the element to answer

  std::string_view accept_value() const noexcept { return {accept, sizeof accept}; }
};

// The terms for `request` (checked already: `key` is its valid Sec-WebSocket-Key): the accept value,
// and, when `deflate` is enabled, the answer to the first permessage-deflate offer we can serve
// (RFC 7692 §5; offers may span several Sec-WebSocket-Extensions lines, which RFC 9110 §5.3 lets us
// join with commas).
UpgradeTerms settle_upgrade(const HttpRequest& request, std::string_view key, const DeflateOptions& deflate);

// Appends "HTTP/1.1 101 Switching Protocols" with the terms' Sec-WebSocket-Accept and extension
// response (when permessage-deflate was agreed), and the chosen subprotocol (when not empty).
void write_upgrade_response(std::string& out, const UpgradeTerms& terms, std::string_view protocol);

}  // namespace ringcast
