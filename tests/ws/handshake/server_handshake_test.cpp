#include <ringcast/ws/handshake/server_handshake.hpp>

#include <doctest/doctest.h>

#include <string>

#include <ringcast/net/http/detail/http_parser.hpp>

using namespace ringcast;

namespace {

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3's example

// Parses a head that must be valid; `storage` keeps the bytes the request points into.
HttpRequest parse(const std::string& storage) {
  HttpRequest r;
  HttpParser parser;
  const HttpParseResult res = parser.parse(storage, r);
  REQUIRE(res.status == ParseStatus::complete);
  return r;
}

std::string upgrade_head(std::string_view extra = {}) {
  return "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(kKey) + "\r\nSec-WebSocket-Version: 13\r\n" + std::string(extra) + "\r\n";
}

}  // namespace

TEST_CASE("settle_upgrade: the accept value of the request's key, and no extension while permessage-deflate is off") {
  const std::string head = upgrade_head("Sec-WebSocket-Extensions: permessage-deflate\r\n");
  const HttpRequest req = parse(head);
  const UpgradeTerms terms = settle_upgrade(req, kKey, DeflateOptions{.enabled = false});
  CHECK(terms.accept_value() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 §1.3
  CHECK_FALSE(terms.deflate.agreement.enabled);
  std::string out;
  write_upgrade_response(out, terms, "chat.v2");
  CHECK(out ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat.v2\r\n\r\n");
}

TEST_CASE("settle_upgrade: the first permessage-deflate offer served, over several Sec-WebSocket-Extensions lines; its answer in the 101") {
  // RFC 9110 §5.3: two field lines are one list; the first offer is not acceptable (window 7).
  const std::string head = upgrade_head(
      "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  const HttpRequest req = parse(head);
  const UpgradeTerms terms = settle_upgrade(req, kKey, DeflateOptions{.enabled = true});
  REQUIRE(terms.deflate.agreement.enabled);
  CHECK(terms.deflate.offers == 2);
  CHECK(terms.deflate.declined == 1);
  std::string out;
  write_upgrade_response(out, terms, {});
  CHECK(out.find("Sec-WebSocket-Protocol") == std::string::npos);
  CHECK(out.find("\r\nSec-WebSocket-Extensions: " + std::string(terms.deflate.response_value()) + "\r\n") !=
        std::string::npos);
  CHECK(terms.deflate.response_value().starts_with("permessage-deflate"));
}

TEST_CASE("settle_upgrade: the terms are values, not views into the request") {
  std::string head = upgrade_head("Sec-WebSocket-Extensions: permessage-deflate\r\n");
  UpgradeTerms terms;
  {
    const HttpRequest req = parse(head);
    terms = settle_upgrade(req, req.header("Sec-WebSocket-Key"), DeflateOptions{.enabled = true});
  }
  const std::string response(terms.deflate.response_value());
  head.assign(head.size(), 'x');  // the request's bytes are gone
  CHECK(terms.accept_value() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(terms.deflate.response_value() == response);
  CHECK(response.starts_with("permessage-deflate"));
}
