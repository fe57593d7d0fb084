// The shared server flags applied to an App's options (ringcast/ws/app_flags.hpp).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <ringcast/core/cli.hpp>
#include <ringcast/ws/app_flags.hpp>

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

// Parses `args` (without the program name) into the server flags, then applies them to `options`.
bool apply(std::vector<std::string> args, AppOptions& options, std::string& error) {
  Cli cli("server", "a server");
  const ServerFlags flags = ServerFlags::declare(cli, 9001);
  args.insert(args.begin(), "server");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  REQUIRE(cli.parse(static_cast<int>(argv.size()), argv.data()) == -1);
  return apply_server_flags(flags, options, error);
}

}  // namespace

TEST_CASE("app flags: the shared server flags fill an App's options and leave the rest alone") {
  AppOptions options{.shards = {.pin = false, .stop_timeout = 1s}, .broker = "redis://127.0.0.1:6379"};
  std::string error;
  REQUIRE(apply({"--host", "::1", "--port", "0", "--shards", "3", "--yield-us", "50", "--backend", "epoll",
                 "--log", "warn"},
                options, error));
  CHECK(options.host == "::1");
  CHECK(options.port == 0);
  CHECK(options.shards.count == 3);
  CHECK(options.shards.yield_interval == 50us);
  CHECK_FALSE(options.shards.pin);
  CHECK(options.shards.stop_timeout == 1s);
  CHECK(options.loop.backend == Backend::epoll);
  CHECK(options.loop.tls == nullptr);
  CHECK(options.broker == "redis://127.0.0.1:6379");

  AppOptions defaults;
  REQUIRE(apply({"--log", "warn"}, defaults, error));
  CHECK(defaults.host == "0.0.0.0");
  CHECK(defaults.port == 9001);
  CHECK(defaults.shards.count == 0);
  CHECK(defaults.shards.yield_interval == 200us);
}

TEST_CASE("app flags: accept limits and where /metrics is served") {
  Cli cli("server", "a server");
  const AppFlags flags = AppFlags::declare(cli, 9001);
  std::vector<std::string> args = {"server",          "--log",           "warn", "--accept-rate",  "500",
                                   "--accept-rate-per-address", "20",    "--metrics-port", "0",
                                   "--metrics-host",  "::1",             "--metrics-token", "t0k"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  REQUIRE(cli.parse(static_cast<int>(argv.size()), argv.data()) == -1);
  AppOptions options;
  std::string error;
  REQUIRE(flags.apply(options, error));
  CHECK(options.loop.accept_limits.per_second == 500);
  CHECK(options.loop.accept_limits.per_address_per_second == 20);
  CHECK(options.metrics.port == 0);
  CHECK(options.metrics.host == "::1");
  CHECK(options.metrics.token == "t0k");

  AppOptions defaults;
  Cli plain("server", "a server");
  const AppFlags none = AppFlags::declare(plain, 9001);
  std::vector<std::string> just_log = {"server", "--log", "warn"};
  std::vector<char*> argv2;
  for (std::string& a : just_log) argv2.push_back(a.data());
  REQUIRE(plain.parse(static_cast<int>(argv2.size()), argv2.data()) == -1);
  REQUIRE(none.apply(defaults, error));
  CHECK(defaults.metrics.port == -1);  // on the main port, as before
  CHECK(defaults.metrics.token.empty());
  CHECK_FALSE(defaults.loop.accept_limits.any());
}

TEST_CASE("app flags: a bad value is an error that names the flag") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--yield-us", "-1"}, "--yield-us"},
      {{"--port", "70000"}, "--port"},
      {{"--host", "example.com"}, "--host"},
      {{"--backend", "kqueue"}, "--backend"},
      {{"--tls-cert", "/nonexistent.pem"}, "--tls-cert and --tls-key go together"},
      {{"--tls-ticket-secret", "/etc/hostname"}, "--tls-ticket-secret needs --tls-cert"},
      {{"--accept-rate", "-1"}, "--accept-rate"},
      {{"--accept-rate-per-address", "-5"}, "--accept-rate-per-address"},
  };
  for (const auto& [flags, says] : cases) {
    const std::string& flag = flags[0];
    CAPTURE(flag);
    AppOptions options;
    std::string error;
    std::vector<std::string> args = flags;
    args.insert(args.end(), {"--log", "warn"});
    CHECK_FALSE(apply(args, options, error));
    CHECK(error.find(says) != std::string::npos);
  }
}

TEST_CASE("app flags: --broker and its probe interval and timeout fill AppOptions; the defaults are AppOptions'") {
  const auto parse = [](std::vector<std::string> args, AppOptions& options, std::string& error) {
    Cli cli("server", "a server");
    const BrokerFlags flags = BrokerFlags::declare(cli, "the broker");
    args.insert(args.begin(), "server");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    REQUIRE(cli.parse(static_cast<int>(argv.size()), argv.data()) == -1);
    return flags.apply(options, error);
  };
  AppOptions options;
  std::string error;
  REQUIRE(parse({"--broker", "redis://10.0.0.1:6379/p/", "--broker-probe-interval-ms", "200",
                 "--broker-probe-timeout-ms", "800"},
                options, error));
  CHECK(options.broker == "redis://10.0.0.1:6379/p/");
  CHECK(options.broker_probe_interval == 200ms);
  CHECK(options.broker_probe_timeout == 800ms);

  AppOptions defaults;
  REQUIRE(parse({}, defaults, error));
  CHECK(defaults.broker.empty());
  CHECK(defaults.broker_probe_interval == AppOptions{}.broker_probe_interval);
  CHECK(defaults.broker_probe_timeout == AppOptions{}.broker_probe_timeout);

  AppOptions bad;
  CHECK_FALSE(parse({"--broker-probe-timeout-ms", "0"}, bad, error));
  CHECK(error.find("--broker-probe-timeout-ms") != std::string::npos);
  CHECK_FALSE(parse({"--broker-probe-interval-ms", "-1"}, bad, error));
  CHECK(error.find("--broker-probe-interval-ms") != std::string::npos);
}
