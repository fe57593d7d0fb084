#pragma once
// WebSocketUrl: "ws://host:port/path?query" split for connecting. Hosts are numeric IPv4/IPv6
// addresses or "localhost" (no DNS lookups on a shard thread). "wss://" sets `secure` (TLS, default
// port 443).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <ringcast/net/socket_address.hpp>

namespace ringcast {

struct WebSocketUrl {
  bool secure = false;
  std::string host;         // as written (for the Host header)
  uint16_t port = 80;
  std::string target = "/";  // path and query
  SocketAddress address;

  // nullopt with `error` set when the URL is not ws:// or wss:// with a numeric host.
  static std::optional<WebSocketUrl> parse(std::string_view url, std::string& error);
  std::string host_header() const;
};

}  // namespace ringcast
