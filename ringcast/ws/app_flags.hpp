#pragma once
// The command-line flags every ringcast server shares (ringcast/net/server_flags.hpp), applied to the options
// of an App: what the programs built on App (ringcast-echo, -chat, -game) call instead of copying
// TcpServerOptions' fields into AppOptions one by one. AppFlags adds the flags of an App's own:
// where /metrics is served and the token it asks for (--metrics-host, --metrics-port, --metrics-token),
// and how SIGTERM drains the node (--drain-window, --drain-grace, --drain-close-code).
#include <string>

#include <ringcast/net/server_flags.hpp>
#include <ringcast/ws/app.hpp>

namespace ringcast {

// Fills host, port, shards and loop (TLS and accept limits included) of `options`; on a bad value or
// an unreadable certificate returns false with a message in `error`.
bool apply_server_flags(const ServerFlags& flags, AppOptions& options, std::string& error);

struct AppFlags {
  ServerFlags server;
  std::string& metrics_host;
  int64_t& metrics_port;
  std::string& metrics_token;
  double& drain_window;  // seconds
  double& drain_grace;   // seconds
  int64_t& drain_close_code;

  static AppFlags declare(Cli& cli, int default_port, std::string default_host = "0.0.0.0");
  // apply_server_flags, then AppOptions::metrics and AppOptions::drain.
  bool apply(AppOptions& options, std::string& error) const;
};

// --broker and how its deliveries are proven (--broker-probe-interval-ms, --broker-probe-timeout-ms:
// AppOptions::broker_probe_interval and broker_probe_timeout), for the programs that share rooms
// through Redis. `broker_help` says what the broker carries for that program.
struct BrokerFlags {
  std::string& broker;
  int64_t& probe_interval_ms;
  int64_t& probe_timeout_ms;

  static BrokerFlags declare(Cli& cli, std::string broker_help);
  // On a negative interval, or a timeout not above zero, returns false with a message in `error`.
  bool apply(AppOptions& options, std::string& error) const;
};

}  // namespace ringcast
