#pragma once
// ServerFlags: the command-line flags every ringcast server shares (--host, --port, --shards,
// --yield-us, --backend, --io-uring-disable, --log, --tls-cert, --tls-key, --accept-rate,
// --accept-rate-per-address, --tls-ticket-rotation, --tls-ticket-secret), declared on a Cli and applied to TcpServerOptions (or, through
// ringcast/ws/app_flags.hpp, AppOptions). With --tls-cert and --tls-key the server speaks TLS on its port.
#include <optional>
#include <string>

#include <ringcast/core/cli.hpp>
#include <ringcast/net/tcp_server.hpp>

namespace ringcast {

struct ServerFlags {
  std::string& host;
  int64_t& port;
  int64_t& shards;
  int64_t& yield_us;
  std::string& backend;
  std::string& io_uring_disable;
  std::string& log_level;
  std::string& tls_cert;
  std::string& tls_key;
  double& accept_rate;
  double& accept_rate_per_address;
  int64_t& tls_ticket_rotation;
  std::string& tls_ticket_secret;

  static ServerFlags declare(Cli& cli, int default_port, std::string default_host = "0.0.0.0");
  // --host and --port as an address; nullopt, with a message in `error`, when either is bad.
  std::optional<SocketAddress> address(std::string& error) const;
  // Fills shards.count and shards.yield_interval, loop.backend, loop.io_uring_disable and loop.tls
  // (the certificate and key, when given) and sets the log level; on a bad value or an unreadable
  // certificate returns false with a message in `error`.
  bool apply(ShardOptions& shards, LoopOptions& loop, std::string& error) const;
  // Both of the above, into a TcpServer's options.
  bool apply(TcpServerOptions& options, std::string& error) const;
};

}  // namespace ringcast
