#pragma once
// SocketAddress: an IPv4 or IPv6 address with port, parsed from "host:port", "[v6]:port" or a bare
// port; value type, 28 bytes of sockaddr storage plus its length.
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace ringcast {

class SocketAddress {
 public:
  SocketAddress() = default;
  static SocketAddress ipv4(uint32_t host_order_addr, uint16_t port);
  static SocketAddress loopback(uint16_t port) { return ipv4(0x7f000001, port); }
  static SocketAddress any(uint16_t port) { return ipv4(0, port); }
  // Numeric addresses only (no DNS): "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "8080".
  static std::optional<SocketAddress> parse(std::string_view text);
  // A numeric host without brackets ("127.0.0.1", "::1"; "" or "*": 0.0.0.0; "localhost": 127.0.0.1)
  // and a port.
  static std::optional<SocketAddress> of(std::string_view host, uint16_t port);
  static SocketAddress from(const sockaddr* sa, socklen_t len);
  // The remote end of connected socket `fd` (getpeername); empty (AF_UNSPEC) when unknown.
  static SocketAddress peer_of(int fd) noexcept;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return storage_.ss_family; }
  uint16_t port() const noexcept;
  void set_port(uint16_t port) noexcept;
  bool is_loopback() const noexcept;
  std::string to_string() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace ringcast
