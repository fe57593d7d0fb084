// ringcast-tcp-echo: a raw TCP echo server — every byte a client sends comes straight back.
// The smallest program on ringcast's shards and event loops, and the peer of the raw echo benchmark.
#include <fmt/core.h>

#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/server_flags.hpp>
#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>

int main(int argc, char** argv) {
  using namespace ringcast;
  Cli cli("ringcast-tcp-echo", "a raw TCP echo server: every byte a client sends comes straight back");
  const ServerFlags flags = ServerFlags::declare(cli, 9000);
  cli.example("ringcast-tcp-echo --port 9000 --shards 2");
  cli.example("ringcast-tcp-echo --backend epoll");
  cli.epilog("Stops gracefully on SIGINT/SIGTERM (exit status 0).\n"
             "Environment: RINGCAST_LOG=debug|info|warn|error|off, RINGCAST_IO_URING_DISABLE=<features>.");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  TcpServerOptions options;
  std::string error;
  if (!flags.apply(options, error)) {
    fmt::print(stderr, "ringcast-tcp-echo: {}\n", error);
    return 2;
  }
  try {
    TcpServer server(options, [](Loop& loop) { return std::make_unique<TcpEchoHandler>(loop); });
    return server.run();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
