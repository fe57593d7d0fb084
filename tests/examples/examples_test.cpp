// The programs of examples/, as built against an installed ringcast (the ctest install/examples
// builds them into RINGCAST_EXAMPLES_BIN, and these tests require it): each is started on a free
// port, talked to over 127.0.0.1 as its header comment says, and stopped with SIGINT, after which it
// must exit with status 0. Every wait is bounded.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/server_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

std::string example_path(const std::string& name) { return std::string(RINGCAST_EXAMPLES_BIN) + "/" + name; }

// The example `name` with `args`, on a free port, once it says it listens (the App logs it at level
// info, whatever the environment says).
test::ServerProcess start(const std::string& name, std::vector<std::string> args = {}) {
  ::setenv("RINGCAST_LOG", "info", 1);
  args.insert(args.begin(), {example_path(name), "--port", "0"});
  test::ServerProcess server(args);
  REQUIRE_MESSAGE(server.port() > 0, name << " did not say it listens:\n" << server.output());
  return server;
}

// Stops the example as a user at its terminal would (SIGINT) and checks it ended cleanly.
void stop(test::ServerProcess& server) {
  const int status = server.stop();
  CHECK_MESSAGE(status == 0, "exit status " << status << ", output:\n" << server.output());
}

// A WebSocket opened on `path`, its handshake answered 101.
test::RawWsClient open_ws(const test::ServerProcess& server, const std::string& path) {
  test::RawWsClient ws(static_cast<uint16_t>(server.port()));
  REQUIRE(ws.connected());
  REQUIRE_MESSAGE(ws.handshake(path), ws.response_head());
  return ws;
}

// The next frame's payload, checking it is text (or `opcode`).
std::string next_message(test::RawWsClient& ws, uint8_t opcode = test::op::kText, int timeout_ms = 5000) {
  test::RawFrame frame;
  REQUIRE(ws.read_frame(frame, timeout_ms) == test::ReadStatus::frame);
  CHECK(int(frame.opcode) == int(opcode));
  return frame.payload;
}

// One GET (or `method` with `body`) on a connection of its own.
test::HttpReply request(const test::ServerProcess& server, const std::string& path, const std::string& method = "GET",
                        const std::string& body = "") {
  test::RawHttpClient http(static_cast<uint16_t>(server.port()));
  REQUIRE(http.connected());
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  REQUIRE(http.send(req + "\r\n" + body));
  std::optional<test::HttpReply> reply = http.read();
  REQUIRE(reply);
  return *reply;
}

}  // namespace

TEST_CASE("echo_server: text and binary messages come back as they went, and a close is answered") {
  test::ServerProcess server = start("echo_server");
  test::RawWsClient ws = open_ws(server, "/any/path");
  REQUIRE(ws.send_text("hello"));
  CHECK(next_message(ws) == "hello");
  REQUIRE(ws.send_binary(std::string("\x00\x01\xff", 3)));
  CHECK(next_message(ws, test::op::kBinary) == std::string("\x00\x01\xff", 3));
  REQUIRE(ws.send_close(1000, "bye"));
  const test::CloseOutcome closed = ws.read_until_close(5000, false);
  CHECK(closed.close_received);
  CHECK(closed.code == 1000);
  stop(server);
}

TEST_CASE("broadcast: a message reaches every member of its room, the sender too, and no other room") {
  test::ServerProcess server = start("broadcast");
  test::RawWsClient alice = open_ws(server, "/room/lobby");
  test::RawWsClient bob = open_ws(server, "/room/lobby");
  test::RawWsClient carol = open_ws(server, "/room/kitchen");
  REQUIRE(alice.send_text("hi all"));
  CHECK(next_message(bob) == "hi all");
  CHECK(next_message(alice) == "hi all");
  test::RawFrame frame;
  CHECK(carol.read_frame(frame, 300) == test::ReadStatus::timeout);
  stop(server);
}

TEST_CASE("auth_upgrade: an unknown token gets 401, a known one a socket that knows its user") {
  test::ServerProcess server = start("auth_upgrade");
  for (const char* path : {"/ws", "/ws?token=nope"}) {
    test::RawWsClient refused(static_cast<uint16_t>(server.port()));
    REQUIRE(refused.connected());
    CHECK_FALSE(refused.handshake(path));
    CHECK(refused.status() == 401);
  }
  test::RawWsClient alice = open_ws(server, "/ws?token=alice-token");
  CHECK(next_message(alice) == "hello alice");
  REQUIRE(alice.send_text("hi"));
  CHECK(next_message(alice) == "alice said: hi");
  stop(server);
}

TEST_CASE("publish_from_thread: a member of /ticks gets the program thread's ticks, in order") {
  test::ServerProcess server = start("publish_from_thread", {"--interval-ms", "20"});
  test::RawWsClient viewer = open_ws(server, "/ticks");
  const std::string first = next_message(viewer);
  const std::string second = next_message(viewer);
  REQUIRE(first.starts_with("tick "));
  REQUIRE(second.starts_with("tick "));
  CHECK(std::stoul(second.substr(5)) == std::stoul(first.substr(5)) + 1);
  stop(server);
}

TEST_CASE("client: talks to echo_server and prints the echo; a refused upgrade exits 1 with the status") {
  test::ServerProcess echo = start("echo_server");
  const std::string url = "ws://127.0.0.1:" + std::to_string(echo.port()) + "/";
  test::ProgramRun run = test::run_program({example_path("client"), "--url", url, "--message", "hello, echo"}, {}, 20s);
  CHECK_MESSAGE(run.status == 0, run.output);
  CHECK(run.output.find("hello, echo\n") != std::string::npos);

  test::ServerProcess auth = start("auth_upgrade");
  const std::string refused = "ws://127.0.0.1:" + std::to_string(auth.port()) + "/ws?token=nope";
  run = test::run_program({example_path("client"), "--url", refused}, {}, 20s);
  CHECK(run.status == 1);
  CHECK_MESSAGE(run.output.find("401") != std::string::npos, run.output);
  stop(auth);
  stop(echo);
}

TEST_CASE("http_routes: a parameter route, a POST body, static files, and nothing outside the folder") {
  test::ServerProcess server = start("http_routes", {"--root", RINGCAST_SOURCE_DIR "/examples/public"});
  test::HttpReply reply = request(server, "/hello/world");
  CHECK(reply.status == 200);
  CHECK(reply.body == "hello world\n");
  reply = request(server, "/echo", "POST", "some bytes");
  CHECK(reply.status == 200);
  CHECK(reply.body == "some bytes");
  reply = request(server, "/");
  CHECK(reply.status == 200);
  CHECK(reply.header("Content-Type").starts_with("text/html"));
  CHECK(reply.body.find("Served by ringcast") != std::string::npos);
  CHECK(request(server, "/style.css").status == 200);
  CHECK(request(server, "/missing.txt").status == 404);
  CHECK(request(server, "/%2e%2e/CMakeLists.txt").status == 403);
  stop(server);
}

TEST_CASE("deferred_http: the worker pool's answer comes back, and a bad request is refused at once") {
  test::ServerProcess server = start("deferred_http");
  test::HttpReply reply = request(server, "/primes/100");
  CHECK(reply.status == 200);
  CHECK(reply.body == "25\n");
  CHECK(request(server, "/primes/1000000").body == "78498\n");
  CHECK(request(server, "/primes/ten").status == 400);
  CHECK(request(server, "/primes/50000001").status == 400);
  stop(server);
}
