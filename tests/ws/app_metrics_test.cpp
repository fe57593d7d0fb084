// Where an App serves GET /metrics (AppOptions::metrics): on the main port by default; with a metrics
// port, on a listener of its own and nowhere else; with a token, only to requests that bear it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"

using namespace ringcast;

namespace {

int status_of(const std::string& reply) { return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : -1; }

std::string get(int port, const std::string& path, const std::string& headers = {}) {
  return test::http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n");
}

struct Running {
  explicit Running(MetricsOptions metrics)
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = 1}, .loop = test::loop_options(), .metrics = std::move(metrics)}) {
    app.get("/hello", [](Request&, Response& res) { res.send("hi"); });
    app.start();
  }
  ~Running() {
    app.stop();
    app.join();
  }
  App app;
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("app metrics: by default GET /metrics answers on the main port") {
  Running r({});
  const std::string reply = get(r.app.port(), "/metrics");
  CHECK(status_of(reply) == 200);
  CHECK(reply.find("ringcast_connections{shard=\"0\"}") != std::string::npos);
  CHECK(r.app.metrics_port() == 0);
}

TEST_CASE("app metrics: with a metrics port, the counters are served there and not on the main port") {
  Running r({.port = 0, .host = "127.0.0.1"});
  REQUIRE(r.app.metrics_port() > 0);
  CHECK(r.app.metrics_port() != r.app.port());
  CHECK(status_of(get(r.app.port(), "/metrics")) == 404);
  CHECK(status_of(get(r.app.port(), "/hello")) == 200);  // the application's routes stay where they were
  const std::string reply = get(r.app.metrics_port(), "/metrics");
  CHECK(status_of(reply) == 200);
  CHECK(reply.find("ringcast_websocket_partial_message_bytes") != std::string::npos);
  CHECK(status_of(get(r.app.metrics_port(), "/health")) == 200);
  CHECK(status_of(get(r.app.metrics_port(), "/hello")) == 404);  // and only the counters are there
}

TEST_CASE("app metrics: with a token, only a request that bears it gets the counters") {
  Running r({.token = "s3cret-token"});
  const int port = r.app.port();
  const std::string refused = get(port, "/metrics");
  CHECK(status_of(refused) == 401);
  CHECK(refused.find("WWW-Authenticate: Bearer") != std::string::npos);
  CHECK(refused.find("ringcast_") == std::string::npos);
  CHECK(status_of(get(port, "/metrics", "Authorization: Bearer s3cret-tokeX\r\n")) == 401);
  CHECK(status_of(get(port, "/metrics", "Authorization: Bearer s3cret-token-and-more\r\n")) == 401);
  CHECK(status_of(get(port, "/metrics", "Authorization: Basic s3cret-token\r\n")) == 401);
  CHECK(status_of(get(port, "/metrics", "Authorization: Bearer s3cret-token\r\n")) == 200);
  CHECK(status_of(get(port, "/health")) == 200);  // health stays open
}

}  // TEST_SUITE("io")
