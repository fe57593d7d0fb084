#include <ringcast/ws/handshake/server_handshake.hpp>

namespace ringcast {
namespace {

HandshakeCheck refuse(int status, std::string_view reason) {
  HandshakeCheck c;
  c.status = status;
  c.reason = reason;
  return c;
}

}  // namespace

HandshakeCheck check_upgrade_request(const HttpRequest& request, std::span<const std::string> allowed_origins,
                                     std::span<const std::string> protocols) {
  const std::string_view upgrade = request.header("Upgrade");
  // A plain GET to a WebSocket endpoint: say what it takes (RFC 9110 §15.5.22).
  if (request.find_header("Upgrade") == nullptr) return refuse(426, "this endpoint speaks WebSocket");
  // RFC 6455 §4.2.1 (1): GET, HTTP/1.1 or higher.
  if (request.method_id() != HttpMethod::get) return refuse(400, "a WebSocket upgrade is a GET");
  if (request.version() != HttpVersion::http11) return refuse(400, "a WebSocket upgrade needs HTTP/1.1");
  // (3) Upgrade lists "websocket"; (4) Connection lists "upgrade" (both case-insensitive tokens).
  if (!header_has_token(upgrade, "websocket")) return refuse(400, "Upgrade must be websocket");
  if (!request.connection_has("upgrade")) return refuse(400, "Connection must include upgrade");
  // (6) Sec-WebSocket-Version: 13, else 426 with the versions we speak (§4.4).
  if (request.header("Sec-WebSocket-Version") != "13") return refuse(426, "Sec-WebSocket-Version must be 13");
  // (5) a key that is base64 of 16 bytes.
  const std::string_view key = request.header("Sec-WebSocket-Key");
  if (!websocket_key_valid(key)) return refuse(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  HandshakeCheck ok;
  ok.key = key;
  // (7) Origin: browsers send it; a page from an origin the route does not allow is refused (§10.2).
  ok.origin = request.header("Origin");
  if (!allowed_origins.empty() && !ok.origin.empty()) {
    bool allowed = false;
    for (const std::string& o : allowed_origins) allowed = allowed || ascii_iequals(o, ok.origin);
    if (!allowed) return refuse(403, "Origin not allowed");
  }
  // (8) the first subprotocol in our order of preference that the client offers. Several
  // Sec-WebSocket-Protocol field lines are one list (RFC 9110 §5.3), so each of ours is looked for
  // in all of them before the next.
  for (size_t i = 0; i < protocols.size() && ok.protocol.empty(); ++i) {
    const std::string_view ours[1] = {protocols[i]};
    for (const HttpHeader& h : request.headers()) {
      if (!ascii_iequals(h.name, "Sec-WebSocket-Protocol")) continue;
      ok.protocol = select_subprotocol(h.value, ours);
      if (!ok.protocol.empty()) break;
    }
  }
  return ok;
}

UpgradeTerms settle_upgrade(const HttpRequest& request, std::string_view key, const DeflateOptions& deflate) {
  UpgradeTerms terms;
  write_websocket_accept(key, terms.accept);
  if (!deflate.enabled) return terms;
  std::string offers;
  for (const HttpHeader& h : request.headers()) {
    if (!ascii_iequals(h.name, "Sec-WebSocket-Extensions")) continue;
    if (!offers.empty()) offers += ", ";
    offers += h.value;
  }
  if (!offers.empty()) terms.deflate = negotiate_deflate(offers, deflate);
  return terms;
}

void write_upgrade_response(std::string& out, const UpgradeTerms& terms, std::string_view protocol) {
  out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  out += terms.accept_value();
  out += "\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  if (terms.deflate.agreement.enabled) {
    out += "Sec-WebSocket-Extensions: ";
    out += terms.deflate.response_value();
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace ringcast
