// ringcast-load against ringcast-echo over wss://: clean runs with --insecure or --ca-file, and a
// refusal when the certificate cannot be verified. The real binaries (suite "io": once per backend).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "tests/support/net_test_support.hpp"
#include "tests/support/test_process.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;

namespace {

std::vector<std::string> tls_echo_command() {
  std::vector<std::string> argv = {test::binary_path("bin/ringcast-echo"), "--port", "0", "--shards", "2",
                                   "--host", "127.0.0.1", "--tls-cert", test::test_certificate().cert,
                                   "--tls-key", test::test_certificate().key, "--log", "info"};
  const std::vector<std::string> backend = test::backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  return argv;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("ringcast-load over wss://: echo and broadcast are clean with --insecure; without it the check fails") {
  test::ServerProcess server(tls_echo_command());
  REQUIRE(server.port() > 0);
  const std::string load = test::binary_path("bin/ringcast-load");
  const std::string url = fmt::format("wss://127.0.0.1:{}", server.port());
  const test::ProgramRun echo = test::run_program({load, "--scenario", "echo", "--url", url, "--insecure", "--connections",
                                                   "20", "--inflight", "4", "--size", "512", "--duration", "1",
                                                   "--warmup", "0.2", "--progress=false"});
  CHECK_MESSAGE(echo.status == 0, echo.output);
  const test::ProgramRun broadcast = test::run_program(
      {load, "--scenario", "broadcast", "--url", url, "--ca-file", test::test_certificate().cert, "--connections", "30",
       "--rooms", "3", "--publishers", "3", "--duration", "1", "--warmup", "0.2", "--progress=false"});
  CHECK_MESSAGE(broadcast.status == 0, broadcast.output);
  // The system store does not trust the test certificate: no connection opens.
  const test::ProgramRun refused =
      test::run_program({load, "--scenario", "connect", "--url", url, "--connections", "2", "--progress=false"});
  CHECK(refused.status != 0);
  CHECK(refused.output.find("certificate verify failed") != std::string::npos);
}

}  // TEST_SUITE
