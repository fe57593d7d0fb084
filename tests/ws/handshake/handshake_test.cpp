#include <ringcast/ws/handshake/handshake.hpp>

#include <doctest/doctest.h>

#include <array>
#include <set>
#include <string>

using namespace ringcast;

TEST_CASE("the RFC 6455 example key gives the RFC's accept value") {
  // RFC 6455 §1.3.
  CHECK(websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  char out[kWebSocketAcceptSize];
  CHECK(write_websocket_accept("dGhlIHNhbXBsZSBub25jZQ==", out));
  CHECK(std::string(out, kWebSocketAcceptSize) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(websocket_accept_matches("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
  CHECK_FALSE(websocket_accept_matches("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo"));
  CHECK_FALSE(websocket_accept_matches("dGhlIHNhbXBsZSBub25jZQ==", "t3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

TEST_CASE("keys that are base64 of exactly 16 bytes are valid") {
  CHECK(websocket_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(websocket_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
  CHECK(websocket_key_valid("/////////////////////w=="));
  CHECK(websocket_key_valid("+/+/+/+/+/+/+/+/+/+/+g=="));
}

TEST_CASE("keys of another length, alphabet or padding are refused") {
  const char* bad[] = {
      "",
      "dGhlIHNhbXBsZSBub25jZQ=",     // 23 characters
      "dGhlIHNhbXBsZSBub25jZQ===",   // 25
      "dGhlIHNhbXBsZSBub25jZQ",      // no padding
      "dGhlIHNhbXBsZSBub25jZQAA",    // padding replaced by data (18 bytes)
      "dGhlIHNhbXBsZSBub25jZ===",    // 15 bytes and a stray '='
      "dGhlIHNhbXBsZSBub25jZR==",    // non-zero bits after the 16th byte
      "dGhlIHNhbXBsZSBub25jZf==",
      "dGhlIHNhbXBsZSBub25j-Q==",    // URL-safe alphabet
      "dGhlIHNhbXBsZSBub25j_Q==",
      "dGhlIHNhbXBsZSBub25j Q==",    // a space inside
      " dGhlIHNhbXBsZSBub25jZQ=",    // untrimmed
      "dGhlIHNhbXBs=SBub25jZQ==",    // '=' inside
      "dGhlIHNhbXBsZSBub25jZQ=A",
      "dGhlIHNhbXBsZSBub25jZ\xc3\xa9=",
      "ZGdobGlibmhibXhzWlNCdWIyNWpaUT09",  // base64 of base64: 24 bytes
  };
  for (const char* k : bad) {
    CAPTURE(k);
    CHECK_FALSE(websocket_key_valid(k));
  }
}

TEST_CASE("a client key is the base64 of its 16-byte nonce") {
  const std::array<uint8_t, 16> nonce = {'t', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'};
  CHECK(make_websocket_key(std::span<const uint8_t, 16>(nonce)) == "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST_CASE("random client keys are valid and differ") {
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    const std::string k = make_websocket_key();
    CHECK(websocket_key_valid(k));
    keys.insert(k);
  }
  CHECK(keys.size() == 100);  // 128 random bits each
}

TEST_CASE("the subprotocol chosen is the server's first preference that the client offered") {
  const std::string_view supported[] = {"chat.v2", "chat.v1", "json"};
  CHECK(select_subprotocol("chat.v1, chat.v2", supported) == "chat.v2");
  CHECK(select_subprotocol("json,chat.v1", supported) == "chat.v1");
  CHECK(select_subprotocol("  json  ", supported) == "json");
  CHECK(select_subprotocol("xml,\tjson", supported) == "json");
  CHECK(select_subprotocol(",, json ,", supported) == "json");  // empty list elements are allowed
  CHECK(select_subprotocol("Chat.V2", supported).empty());      // tokens compare exactly
  CHECK(select_subprotocol("chat", supported).empty());
  CHECK(select_subprotocol("chat.v2x", supported).empty());
  CHECK(select_subprotocol("", supported).empty());
  CHECK(select_subprotocol("json", {}).empty());
  // The result views the server's entry, not the header.
  CHECK(select_subprotocol("json", supported).data() == supported[2].data());
}
