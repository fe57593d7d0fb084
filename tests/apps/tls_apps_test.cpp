// The programs with --tls-cert/--tls-key: ringcast-echo against Python's `websockets` client over
// wss://, curl against GET /health over https://, ringcast-tcp-echo over TLS, the chat's origins over
// https://, a bad certificate as a start-up error, and SIGHUP reloading the certificate. The real binaries, real sockets (suite "io": once per backend).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/net_test_support.hpp"
#include "tests/support/required_program.hpp"
#include "tests/support/test_process.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;

namespace {

std::vector<std::string> tls_command(const char* program, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {test::binary_path(std::string("bin/") + program), "--port", "0", "--shards", "2",
                                   "--host", "127.0.0.1", "--tls-cert", test::test_certificate().cert,
                                   "--tls-key", test::test_certificate().key, "--log", "info"};
  const std::vector<std::string> backend = test::backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("ringcast-echo over TLS: Python's websockets client passes its scenarios over wss://") {
  if (!test::require_python_websockets()) return;
  for (bool deflate : {false, true}) {
    // The scenarios send messages of up to 16 MiB back to back: beyond the echo's default limits.
    std::vector<std::string> flags = {"--max-message", "16777216", "--inflate-rate", "0"};
    if (deflate) flags.push_back("--deflate");
    test::ServerProcess server(tls_command("ringcast-echo", flags));
    REQUIRE(server.port() > 0);
    CHECK(server.output().find(fmt::format("listening on https://127.0.0.1:{}", server.port())) != std::string::npos);
    for (std::string scenario : {"messages", "fragmented", "pipelined", "ping", "close"}) {
      if (deflate && scenario != "messages" && scenario != "fragmented") continue;
      CAPTURE(scenario);
      CAPTURE(deflate);
      std::vector<std::string> argv = {test::kPython, test::source_path("tests/interop/python_client.py"), scenario,
                                       "--url", fmt::format("wss://127.0.0.1:{}/echo", server.port()), "--ca",
                                       test::test_certificate().cert};
      if (deflate) argv.push_back("--deflate");
      const test::ProgramRun run = test::run_program(argv);
      CHECK_MESSAGE(run.status == 0, run.output);
    }
  }
}

TEST_CASE("ringcast-echo over TLS: curl gets GET /health over https://") {
  const std::string curl = "/usr/bin/curl";
  if (!test::require_program(curl, "scripts/setup installs curl")) return;
  test::ServerProcess server(tls_command("ringcast-echo"));
  REQUIRE(server.port() > 0);
  const test::ProgramRun insecure =
      test::run_program({curl, "-sS", "-k", "--max-time", "10", fmt::format("https://127.0.0.1:{}/health", server.port())});
  CHECK(insecure.status == 0);
  CHECK(insecure.output == "ok");
  // Verified against the test CA, by name.
  const test::ProgramRun verified = test::run_program(
      {curl, "-sS", "--max-time", "10", "--cacert", test::test_certificate().cert, "--resolve",
       fmt::format("localhost:{}:127.0.0.1", server.port()), fmt::format("https://localhost:{}/health", server.port())});
  CHECK(verified.status == 0);
  CHECK(verified.output == "ok");
  // Plain HTTP to the TLS port gets no answer.
  CHECK(test::run_program({curl, "-sS", "--max-time", "10", fmt::format("http://127.0.0.1:{}/health", server.port())})
            .status != 0);
}

TEST_CASE("ringcast-tcp-echo over TLS: bytes come back through TLS") {
  test::ServerProcess server(tls_command("ringcast-tcp-echo"));
  REQUIRE(server.port() > 0);
  CHECK(server.output().find("listening on tls://127.0.0.1:") != std::string::npos);
  test::BlockingTlsClient client(static_cast<uint16_t>(server.port()));
  REQUIRE(client.ok());
  const std::string msg(100'000, 'z');
  REQUIRE(client.write_all(msg));
  std::string back(msg.size(), '\0');
  REQUIRE(client.read_exact(back.data(), back.size()));
  CHECK(back == msg);
}

TEST_CASE("servers: SIGHUP reloads the certificate; open connections go on; a bad pair is logged and the old one stays") {
  namespace fs = std::filesystem;
  using namespace std::chrono_literals;
  test::TemporaryCertificate first(101, "ringcast-first");
  test::TemporaryCertificate second(202, "ringcast-second");
  for (const char* program : {"ringcast-tcp-echo", "ringcast-echo"}) {
    CAPTURE(program);
    test::TemporaryCertificate served(1);
    fs::copy_file(first.cert, served.cert, fs::copy_options::overwrite_existing);
    fs::copy_file(first.key, served.key, fs::copy_options::overwrite_existing);
    std::vector<std::string> argv = tls_command(program);
    argv[8] = served.cert;  // --tls-cert, --tls-key
    argv[10] = served.key;
    test::ServerProcess server(argv);
    REQUIRE(server.port() > 0);
    const auto port = static_cast<uint16_t>(server.port());
    // What an open connection does: bytes echoed, or GET /health on a kept-alive connection.
    const bool http = std::string(program) == "ringcast-echo";
    auto works = [http](test::BlockingTlsClient& c) {
      const std::string ask = http ? "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" : "ping";
      if (!c.write_all(ask)) return false;
      std::string got;
      char ch;
      while (got.find(http ? "\r\n\r\nok" : "ping") == std::string::npos && got.size() < 4096 && c.read_exact(&ch, 1)) got += ch;
      return got.find(http ? "\r\n\r\nok" : "ping") != std::string::npos;
    };
    test::BlockingTlsClient old(port, {.ca_file = first.cert});
    REQUIRE(old.ok());
    REQUIRE(works(old));

    {  // a certificate that is not one: refused, named in the log
      std::ofstream(served.cert, std::ios::trunc) << "garbage\n";
    }
    ::kill(server.pid(), SIGHUP);
    CHECK(server.wait_for_output("TLS reload refused", 10s));
    CHECK(server.output().find("TLS certificate " + served.cert) != std::string::npos);
    test::BlockingTlsClient during(port, {.ca_file = first.cert});
    CHECK(during.ok());
    CHECK(during.peer_serial() == 101);

    fs::copy_file(second.cert, served.cert, fs::copy_options::overwrite_existing);
    fs::copy_file(second.key, served.key, fs::copy_options::overwrite_existing);
    ::kill(server.pid(), SIGHUP);
    REQUIRE(server.wait_for_output("TLS certificates reloaded", 10s));
    test::BlockingTlsClient renewed(port, {.ca_file = second.cert});
    REQUIRE(renewed.ok());
    CHECK(renewed.peer_serial() == 202);
    CHECK(renewed.peer_common_name() == "ringcast-second");
    CHECK(works(renewed));
    CHECK(works(old));
    CHECK(works(during));
    CHECK(server.stop() == 0);
  }
}

TEST_CASE("ringcast-chat over TLS: a page served over https:// may open the WebSocket (Origin https://...)") {
  test::ServerProcess server(tls_command("ringcast-chat"));
  REQUIRE(server.port() > 0);
  const uint16_t port = static_cast<uint16_t>(server.port());
  // Read one HTTP response head and, by Content-Length, its body.
  auto exchange = [&](const std::string& request) {
    test::BlockingTlsClient client(port);
    REQUIRE(client.ok());
    REQUIRE(client.write_all(request));
    std::string in;
    char c;
    while (in.find("\r\n\r\n") == std::string::npos && client.read_exact(&c, 1)) in += c;
    const size_t at = in.find("Content-Length: ");
    if (at != std::string::npos) {
      std::string body(static_cast<size_t>(std::atoi(in.c_str() + at + 16)), '\0');
      if (client.read_exact(body.data(), body.size())) in += body;
    }
    return in;
  };
  const std::string body = R"({"username": "alice", "password": "secret"})";
  const std::string login = exchange(fmt::format(
      "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
      port, body.size(), body));
  REQUIRE(login.find("200") != std::string::npos);
  const size_t otp_at = login.find("\"otp\"");
  REQUIRE(otp_at != std::string::npos);
  const size_t open = login.find('"', login.find(':', otp_at) + 1);
  const std::string otp = login.substr(open + 1, login.find('"', open + 1) - open - 1);
  const std::string upgrade = exchange(fmt::format(
      "GET /ws?otp={} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://127.0.0.1:{}\r\n\r\n",
      otp, port, port));
  CHECK(upgrade.rfind("HTTP/1.1 101", 0) == 0);
}

TEST_CASE("servers: a missing or half-given certificate is a start-up error, exit status 2") {
  for (const char* program : {"ringcast-echo", "ringcast-tcp-echo", "ringcast-chat", "ringcast-game"}) {
    CAPTURE(program);
    const std::string bin = test::binary_path(std::string("bin/") + program);
    const test::ProgramRun missing =
        test::run_program({bin, "--port", "0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", test::test_certificate().key});
    CHECK(missing.status == 2);
    CHECK(missing.output.find("/nonexistent/cert.pem") != std::string::npos);
    const test::ProgramRun half = test::run_program({bin, "--port", "0", "--tls-cert", test::test_certificate().cert});
    CHECK(half.status == 2);
    CHECK(half.output.find("--tls-key") != std::string::npos);
  }
}

}  // TEST_SUITE
