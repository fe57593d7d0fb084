#include <ringcast/ws/web_socket_url.hpp>

#include <fmt/format.h>

#include <charconv>

namespace ringcast {

std::optional<WebSocketUrl> WebSocketUrl::parse(std::string_view url, std::string& error) {
  WebSocketUrl u;
  if (url.substr(0, 5) == "ws://") {
    url.remove_prefix(5);
  } else if (url.substr(0, 6) == "wss://") {
    url.remove_prefix(6);
    u.secure = true;
    u.port = 443;
  } else {
    error = "the URL must start with ws:// or wss://";
    return std::nullopt;
  }
  const size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(url.substr(slash));
    if (u.target.front() == '?') u.target.insert(u.target.begin(), '/');
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed [ in the host";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "junk after ]";
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    error = "no host in the URL";
    return std::nullopt;
  }
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      error = fmt::format("bad port '{}'", port);
      return std::nullopt;
    }
    u.port = static_cast<uint16_t>(p);
  }
  u.host = std::string(authority.front() == '[' ? authority.substr(0, host.size() + 2) : host);
  const std::string numeric = host == "localhost" ? "127.0.0.1" : std::string(host);
  auto addr = SocketAddress::parse(numeric.find(':') != std::string::npos ? fmt::format("[{}]:{}", numeric, u.port)
                                                                           : fmt::format("{}:{}", numeric, u.port));
  if (!addr) {
    error = fmt::format("host '{}' is not a numeric address (no DNS here)", host);
    return std::nullopt;
  }
  u.address = *addr;
  return u;
}

std::string WebSocketUrl::host_header() const {
  const bool default_port = (!secure && port == 80) || (secure && port == 443);
  return default_port ? host : fmt::format("{}:{}", host, port);
}

}  // namespace ringcast
