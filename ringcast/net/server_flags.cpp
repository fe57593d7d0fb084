#include <ringcast/net/server_flags.hpp>

#include <fmt/format.h>

#include <ringcast/core/log.hpp>
#include <ringcast/net/tls/tls_context.hpp>

namespace ringcast {

ServerFlags ServerFlags::declare(Cli& cli, int default_port, std::string default_host) {
  return ServerFlags{
      cli.flag("host", std::move(default_host), "address to listen on"),
      cli.flag("port", int64_t{default_port}, "port to listen on (0: any free port)"),
      cli.flag("shards", int64_t{0}, "shard threads, one per core (0: every CPU in the affinity mask)"),
      cli.flag("yield-us", int64_t{200},
               "how often, in µs, a busy shard yields its CPU when another thread waits for it (0: never)"),
      cli.flag("backend", std::string("auto"), "event loop: io_uring, epoll, or auto (io_uring if the kernel allows)"),
      cli.flag("io-uring-disable", std::string("none"),
               "io_uring features to leave off: all, none, or a list of single_issuer,defer_taskrun,"
               "accept_multishot,recv_multishot,buf_ring,msg_ring,registered_ring,fixed_files,recv_bundle"),
      cli.flag("log", std::string("info"), "log level: debug, info, warn, error, off"),
      cli.flag("tls-cert", std::string(),
               "PEM certificate chain (leaf first): serve TLS (https://, wss://) on the port. Several, comma-separated: "
               "each serves the names in its certificate to clients that ask by SNI, the first everyone else. "
               "SIGHUP reads them and --tls-key again (a pair that does not load is logged and the current ones stay)"),
      cli.flag("tls-key", std::string(), "PEM private key of --tls-cert (several: comma-separated, in the same order)"),
      cli.flag("accept-rate", 0.0,
               "connections the server accepts per second, a second's worth at once; beyond, they wait in the "
               "kernel's backlog (0: no limit)"),
      cli.flag("accept-rate-per-address", 0.0,
               "connections one client address (IPv4, IPv6 /64) may open per second, a second's worth at once; "
               "beyond, they are reset (0: no limit)"),
      cli.flag("tls-ticket-rotation", int64_t{3600},
               "TLS session resumption: seconds between changes of the key that encrypts session tickets; a "
               "ticket resumes during the period it was issued in and the next (0: no tickets, every "
               "connection a full handshake)"),
      cli.flag("tls-ticket-secret", std::string(),
               "file shared by every node of a cluster (at least 32 bytes: openssl rand -hex 32) that the "
               "ticket keys are derived from, so a client resumes on any node; empty: a random secret, "
               "tickets resume on this process only"),
  };
}

std::optional<SocketAddress> ServerFlags::address(std::string& error) const {
  if (port < 0 || port > 65535) {
    error = fmt::format("--port {} is not a port", port);
    return std::nullopt;
  }
  auto addr = SocketAddress::of(host, static_cast<uint16_t>(port));
  if (!addr) error = fmt::format("--host '{}' is not a numeric IPv4/IPv6 address", host);
  return addr;
}

bool ServerFlags::apply(TcpServerOptions& options, std::string& error) const {
  auto addr = address(error);
  if (!addr) return false;
  options.address = *addr;
  return apply(options.shards, options.loop, error);
}

bool ServerFlags::apply(ShardOptions& shard_options, LoopOptions& loop, std::string& error) const {
  if (shards < 0 || shards > 1024) {
    error = fmt::format("--shards {} is out of range (0..1024)", shards);
    return false;
  }
  shard_options.count = static_cast<unsigned>(shards);
  if (yield_us < 0 || yield_us > 1'000'000) {
    error = fmt::format("--yield-us {} is out of range (0..1000000)", yield_us);
    return false;
  }
  shard_options.yield_interval = std::chrono::microseconds(yield_us);
  auto b = parse_backend(backend);
  if (!b) {
    error = fmt::format("--backend '{}': choose io_uring, epoll or auto", backend);
    return false;
  }
  loop.backend = *b;
  auto disabled = parse_io_uring_features(io_uring_disable);
  if (!disabled) {
    error = fmt::format("--io-uring-disable '{}': unknown feature name", io_uring_disable);
    return false;
  }
  loop.io_uring_disable = *disabled;
  log::Level level;
  if (!log::parse_level(log_level, level)) {
    error = fmt::format("--log '{}': choose debug, info, warn, error or off", log_level);
    return false;
  }
  log::set_level(level);
  if (accept_rate < 0 || accept_rate_per_address < 0) {
    error = fmt::format("--accept-rate{} must not be negative", accept_rate < 0 ? "" : "-per-address");
    return false;
  }
  loop.accept_limits.per_second = accept_rate;
  loop.accept_limits.per_address_per_second = accept_rate_per_address;
  if (tls_cert.empty() != tls_key.empty()) {
    error = "--tls-cert and --tls-key go together";
    return false;
  }
  if (tls_cert.empty() && !tls_ticket_secret.empty()) {
    error = "--tls-ticket-secret needs --tls-cert";
    return false;
  }
  if (!tls_cert.empty()) {
    auto tls = TlsServerOptions::from_lists(tls_cert, tls_key, error);
    if (!tls) return false;
    if (tls_ticket_rotation < 0 || tls_ticket_rotation > 302400) {
      error = fmt::format("--tls-ticket-rotation {} is out of range (0..302400 seconds: a ticket lives two periods, TLS 1.3 allows 7 days)", tls_ticket_rotation);
      return false;
    }
    tls->ticket_key_interval = std::chrono::seconds(tls_ticket_rotation);
    tls->ticket_secret_file = tls_ticket_secret;
    loop.tls = TlsContext::server(*tls, error);
    if (!loop.tls) return false;
  }
  return true;
}

}  // namespace ringcast
