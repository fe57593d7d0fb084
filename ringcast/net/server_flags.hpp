#pragma once
// ServerFlags: the command-line flags every ringcast server shares (--host, --port, --shards,
// --yield-us, --backend, --io-uring-disable, --log, --tls-cert, --tls-key, --accept-rate,
// --accept-rate-per-address), declared on a Cli and applied to TcpServerOptions. With --tls-cert and
// --tls-key the server speaks TLS on its port.
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

  static ServerFlags declare(Cli& cli, int default_port, std::string default_host = "0.0.0.0");
  // Fills `options` (loading the certificate and key, when given, into options.loop.tls); on a bad
  // value or an unreadable certificate returns false with a message in `error`.
  bool apply(TcpServerOptions& options, std::string& error) const;
};

}  // namespace ringcast
