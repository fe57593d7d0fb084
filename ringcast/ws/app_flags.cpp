#include <ringcast/ws/app_flags.hpp>

#include <fmt/format.h>

namespace ringcast {

bool apply_server_flags(const ServerFlags& flags, AppOptions& options, std::string& error) {
  if (!flags.address(error) || !flags.apply(options.shards, options.loop, error)) return false;
  options.host = flags.host;
  options.port = static_cast<uint16_t>(flags.port);
  return true;
}

AppFlags AppFlags::declare(Cli& cli, int default_port, std::string default_host) {
  return AppFlags{
      ServerFlags::declare(cli, default_port, std::move(default_host)),
      cli.flag("metrics-host", std::string("127.0.0.1"), "address of the metrics listener (with --metrics-port)"),
      cli.flag("metrics-port", int64_t{-1},
               "serve GET /metrics (and /health) only on a listener of its own at --metrics-host:PORT (0: any free "
               "port); -1: on the main port, to anyone who can reach it"),
      cli.flag("metrics-token", std::string(), "GET /metrics needs `Authorization: Bearer TOKEN` (empty: no token)"),
      cli.flag("drain-window", 10.0,
               "SIGTERM drains the node for a rolling restart: GET /ready turns 503, the port stops accepting, and the "
               "WebSockets are closed evenly over this many seconds, so their clients reconnect elsewhere a few at a "
               "time (0: all at once); the process exits 0 once they are gone. A second SIGTERM or SIGINT stops at "
               "once; SIGINT alone stops without spreading"),
      cli.flag("drain-grace", 5.0,
               "seconds after the drain window for the last closing handshakes; what is still open then is cut"),
      cli.flag("drain-close-code", int64_t{1001},
               "the drain's close code: 1001 (going away, known to every client) or 1012 (service restart)"),
  };
}

bool AppFlags::apply(AppOptions& options, std::string& error) const {
  if (!apply_server_flags(server, options, error)) return false;
  if (metrics_port < -1 || metrics_port > 65535) {
    error = fmt::format("--metrics-port {} is not a port (or -1)", metrics_port);
    return false;
  }
  if (metrics_port >= 0) {
    const bool v6 = metrics_host.find(':') != std::string::npos;
    if (!SocketAddress::parse(v6 ? fmt::format("[{}]:0", metrics_host) : fmt::format("{}:0", metrics_host))) {
      error = fmt::format("--metrics-host '{}' is not a numeric IPv4/IPv6 address", metrics_host);
      return false;
    }
  }
  options.metrics = MetricsOptions{static_cast<int>(metrics_port), metrics_host, metrics_token};
  // Bounded at a day: a window is seconds or minutes; beyond, a typo.
  if (!(drain_window >= 0 && drain_window <= 86400) || !(drain_grace >= 0 && drain_grace <= 86400)) {
    error = fmt::format("--drain-window {} and --drain-grace {} must be seconds between 0 and 86400", drain_window,
                        drain_grace);
    return false;
  }
  if (drain_close_code != 1001 && drain_close_code != 1012) {
    error = fmt::format("--drain-close-code {} is neither 1001 nor 1012", drain_close_code);
    return false;
  }
  auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000 + 0.5)); };
  options.drain = DrainOptions{.window = ms(drain_window), .grace = ms(drain_grace),
                               .close_code = static_cast<uint16_t>(drain_close_code)};
  return true;
}

BrokerFlags BrokerFlags::declare(Cli& cli, std::string broker_help) {
  const AppOptions defaults;
  return BrokerFlags{
      cli.flag("broker", std::string(), std::move(broker_help)),
      cli.flag("broker-probe-interval-ms", int64_t{defaults.broker_probe_interval.count()},
               "with --broker: milliseconds between the probes each shard sends itself through every Redis "
               "connection it subscribes on (0: none)"),
      cli.flag("broker-probe-timeout-ms", int64_t{defaults.broker_probe_timeout.count()},
               "with --broker: milliseconds without a probe back before that connection is made again and "
               "GET /ready answers 503"),
  };
}

bool BrokerFlags::apply(AppOptions& options, std::string& error) const {
  if (probe_interval_ms < 0 || probe_timeout_ms <= 0) {
    error = "--broker-probe-interval-ms must not be negative, --broker-probe-timeout-ms must be positive";
    return false;
  }
  options.broker = broker;
  options.broker_probe_interval = std::chrono::milliseconds(probe_interval_ms);
  options.broker_probe_timeout = std::chrono::milliseconds(probe_timeout_ms);
  return true;
}

}  // namespace ringcast
