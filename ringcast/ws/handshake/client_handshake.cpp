#include <ringcast/ws/handshake/client_handshake.hpp>

#include <fmt/format.h>

#include <cstring>

#include <ringcast/net/http/detail/http_response_parser.hpp>
#include <ringcast/ws/deflate/permessage_deflate.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>
#include <ringcast/ws/handshake/handshake.hpp>

namespace ringcast {
namespace {

// What we offer: the browsers' offer (RFC 7692 §7.1.2.2: any window the server likes for our messages).
constexpr DeflateParams kDeflateOffer{.client_max_window_bits = kWindowBitsNoValue};

}  // namespace

struct ClientHandshake::Pending {
  WebSocketBase* ws;
  char accept[28];  // the Sec-WebSocket-Accept the server must send
  std::string failure;
};

ClientHandshake::ClientHandshake(WebSocketContext& context, ClientHandshakeOptions options)
    : context_(context), options_(std::move(options)) {}

bool ClientHandshake::start(const WebSocketUrl& url, WebSocketBase& ws, const SocketAddress* from) {
  auto* pending = new Pending{&ws, {}, {}};
  Loop& loop = context_.loop();
  std::shared_ptr<const TlsContext> tls;
  if (url.secure) {
    tls = options_.tls ? options_.tls : TlsContext::default_client();
    if (!tls) {
      delete pending;
      errno = EPROTO;
      return false;
    }
  }
  Connection* c = loop.connect(url.address, *this, pending, from, tls.get(), url.host);
  if (!c) {
    delete pending;
    return false;
  }
  // §4.1: a fresh random 16-byte nonce per connection, base64-encoded.
  const std::string key = make_websocket_key();
  write_websocket_accept(key, pending->accept);
  request_.clear();
  fmt::format_to(std::back_inserter(request_),
                 "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
                 url.target, url.host_header(), key);
  if (!options_.origin.empty()) fmt::format_to(std::back_inserter(request_), "Origin: {}\r\n", options_.origin);
  if (!options_.protocols.empty()) {
    request_ += "Sec-WebSocket-Protocol: ";
    for (size_t i = 0; i < options_.protocols.size(); ++i) {
      if (i) request_ += ", ";
      request_ += options_.protocols[i];
    }
    request_ += "\r\n";
  }
  if (context_.deflate_options().enabled) {
    request_ += "Sec-WebSocket-Extensions: ";
    request_ += format_deflate_offer(kDeflateOffer);
    request_ += "\r\n";
  }
  request_ += "\r\n";
  loop.write(*c, request_);  // queued: leaves as soon as the connection is up
  loop.timers().schedule_in(c->timer, static_cast<uint64_t>(options_.timeout.count()));
  return true;
}

void ClientHandshake::on_open(Connection&) {}

void ClientHandshake::fail(Connection& c, std::string why) {
  static_cast<Pending*>(c.context)->failure = std::move(why);
  context_.loop().abort(c, -EPROTO);  // on_close reports it
}

size_t ClientHandshake::on_data(Connection& c, std::span<uint8_t> data) {
  auto& pending = *static_cast<Pending*>(c.context);
  const HttpResponseHead head =
      HttpResponseHead::parse({reinterpret_cast<const char*>(data.data()), data.size()});
  if (head.status == HttpResponseHead::Status::incomplete) return 0;
  if (head.status == HttpResponseHead::Status::error) {
    fail(c, fmt::format("bad handshake response: {}", head.error));
    return data.size();
  }
  // RFC 6455 §4.1, the client's checks of the server's answer.
  if (head.code != 101) {
    fail(c, fmt::format("the server refused the upgrade: {} {}", head.code, head.reason));
    return data.size();
  }
  if (!head.header_has_token("Upgrade", "websocket")) {
    fail(c, "101 without Upgrade: websocket");
    return data.size();
  }
  if (!head.header_has_token("Connection", "upgrade")) {
    fail(c, "101 without Connection: upgrade");
    return data.size();
  }
  if (head.header("Sec-WebSocket-Accept") != std::string_view(pending.accept, sizeof pending.accept)) {
    fail(c, "wrong Sec-WebSocket-Accept");
    return data.size();
  }
  // RFC 6455 §4.1 (5), RFC 7692 §5: an extension we did not offer, or a deflate answer that does not
  // fit our offer, fails the connection.
  DeflateAgreement deflate;
  const std::string_view extensions = head.header("Sec-WebSocket-Extensions");
  if (!extensions.empty()) {
    if (!context_.deflate_options().enabled || check_deflate_response(extensions, kDeflateOffer, deflate) == DeflateResponse::fail) {
      fail(c, "the server chose an extension that was not offered, or answered it wrongly");
      return data.size();
    }
  }
  const std::string_view protocol = head.header("Sec-WebSocket-Protocol");
  if (!protocol.empty()) {
    bool offered = false;
    for (const auto& p : options_.protocols) offered = offered || p == protocol;
    if (!offered) {
      fail(c, fmt::format("the server chose subprotocol '{}', which was not offered", protocol));
      return data.size();
    }
  }
  WebSocketBase& ws = *pending.ws;
  delete &pending;
  context_.loop().timers().cancel(c.timer);
  context_.adopt(c, ws, deflate);  // bytes after the head go to the context
  return head.head_bytes;
}

void ClientHandshake::on_timeout(Connection& c) { fail(c, "connect or handshake timed out"); }

void ClientHandshake::on_close(Connection& c, int error) {
  auto* pending = static_cast<Pending*>(c.context);
  std::string why = pending->failure.empty()
                        ? (error == -EPROTO && context_.loop().is_tls(c)
                               ? fmt::format("TLS handshake failed: {}", context_.loop().tls_error(c))
                           : error < 0 ? fmt::format("connect failed: {}", std::strerror(-error))
                                       : "closed during the handshake")
                        : std::move(pending->failure);
  WebSocketBase& ws = *pending->ws;
  delete pending;
  c.context = nullptr;
  context_.handshake_failed(ws, why);
}

}  // namespace ringcast
