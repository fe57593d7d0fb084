// ringcast-load must be honest: against a server that drops, duplicates and reorders messages on a
// known schedule it reports exactly what was done, and fails; against a correct server it passes.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

// The numbers of ringcast-load's JSON report, by key (the keys of nested objects too). A key the
// report lacks fails the test: a figure that is missing must not read as 0.
class LoadReport {
 public:
  double operator[](const std::string& key) const {
    const auto it = values_.find(key);
    REQUIRE_MESSAGE(it != values_.end(), "the report has no \"", key, "\"");
    return it->second;
  }
  // Every `"name": number` pair of the report's text.
  void read(const std::string& s) {
    for (size_t at = s.find('"'); at != std::string::npos; at = s.find('"', at + 1)) {
      const size_t end = s.find('"', at + 1);
      if (end == std::string::npos) break;
      const std::string key = s.substr(at + 1, end - at - 1);
      size_t v = end + 1;
      if (s.compare(v, 2, ": ") == 0) v += 2;
      char* stop = nullptr;
      const double value = std::strtod(s.c_str() + v, &stop);
      if (stop != s.c_str() + v) values_[key] = value;
      at = end;
    }
  }

 private:
  std::map<std::string, double> values_;
};

// Runs ringcast-load with `args` (for at most two minutes), returns its exit status; the JSON report
// lands in `report`.
int run_load(std::vector<std::string> args, LoadReport& report) {
  const std::string path = test::binary_path(fmt::format("load-{}.json", ::getpid()));
  args.insert(args.begin(), test::binary_path("bin/ringcast-load"));
  args.insert(args.end(), {"--progress=false", "--json", path});
  const test::ProgramRun run = test::run_program(args);
  CHECK_FALSE(run.timed_out);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  report.read(text.str());
  std::remove(path.c_str());
  return run.status;
}

// A bench-protocol room server on one shard that misbehaves toward listeners (never toward a
// publisher, whose window would stall): per publisher, the message numbered n is dropped when
// n % 10 == 2, sent twice when n % 10 == 5, sent with one payload byte changed (a different byte each
// time) when n % 10 == 7, and held back and sent after the next one (a swap) when n % 10 == 8. It
// counts what it did.
struct FaultyServer {
  struct Member {
    std::map<uint32_t, std::string> held;  // publisher → message held back for a swap
  };
  std::vector<WebSocket<Member>*> members;
  std::atomic<uint64_t> dropped{0}, duplicated{0}, corrupted{0}, swapped{0};
  std::atomic<uint64_t> held_at_close{0};  // held back, then the listener left: never delivered
  std::unique_ptr<App> app;

  FaultyServer() {
    app = std::make_unique<App>(AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = 1}, .loop = test::loop_options()});
    app->ws<Member>("/room/:name", {
        .on_open = [this](WebSocket<Member>& ws) { members.push_back(&ws); },
        .on_message = [this](WebSocket<Member>& from, std::string_view m, OpCode op) { fan_out(from, m, op); },
        .on_close =
            [this](WebSocket<Member>& ws, int, std::string_view) {
              held_at_close += ws.data().held.size();
              members.erase(std::find(members.begin(), members.end(), &ws));
            },
    });
    app->start();
  }
  ~FaultyServer() {
    app->stop();
    app->join();
  }

  void fan_out(WebSocket<Member>& from, std::string_view m, OpCode op) {
    uint32_t publisher;
    uint64_t seq;
    std::memcpy(&publisher, m.data(), 4);
    std::memcpy(&seq, m.data() + 8, 8);
    for (auto* ws : members) {
      if (ws == &from) {
        ws->send(m, op);  // the publisher always gets its own message, once, in order
        continue;
      }
      auto& held = ws->data().held;
      switch (seq % 10) {
        case 2:
          ++dropped;
          break;
        case 5:
          ws->send(m, op);
          ws->send(m, op);
          ++duplicated;
          break;
        case 7: {
          std::string bad(m);
          bad[24 + (seq / 10) % (bad.size() - 24)] ^= 0x20;  // past the header: the filler
          ws->send(bad, op);
          ++corrupted;
          break;
        }
        case 8:
          held[publisher] = std::string(m);
          break;
        default:
          ws->send(m, op);
          if (auto h = held.find(publisher); h != held.end()) {  // the held one comes after its successor
            ws->send(h->second, op);
            held.erase(h);
            ++swapped;
          }
      }
    }
  }
};

// A bundled server program on this test run's backend.
test::ServerProcess start_server(const char* program, std::vector<std::string> args) {
  args.insert(args.begin(), test::binary_path(std::string("bin/") + program));
  const std::vector<std::string> backend = test::backend_flags();
  args.insert(args.end(), backend.begin(), backend.end());
  return test::ServerProcess(args);
}

// Every message of the report arrived once and in order.
void check_streams_clean(const LoadReport& report) {
  CHECK(report["lost"] == 0);
  CHECK(report["duplicates"] == 0);
  CHECK(report["reordered"] == 0);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("load harness: against a faulty server it reports exactly the losses, duplicates, changed bytes and swaps, and fails") {
  FaultyServer server;
  LoadReport report;
  // 2 publishers and 4 listeners (each publisher listens to the other one too), 818 messages in all.
  // 69 bytes: the filler after the 24-byte header ends in a word and a part word, checked too.
  const int status = run_load({"--scenario", "broadcast", "--url", fmt::format("ws://127.0.0.1:{}", server.app->port()),
                               "--connections", "6", "--publishers", "2", "--window", "4", "--messages", "818",
                               "--size", "69", "--warmup", "0", "--duration", "30"},
                              report);
  CHECK(status == 1);
  CHECK(report["sent_total"] == 818);
  // A message still held back when the publishers stopped never reached its listener, and a changed
  // one never arrived intact: lost too.
  CHECK(server.dropped.load() > 0);
  CHECK(server.duplicated.load() > 0);
  CHECK(server.corrupted.load() > 0);
  CHECK(report["bad_messages"] == static_cast<double>(server.corrupted.load()));
  CHECK(report["lost"] ==
        static_cast<double>(server.dropped.load() + server.corrupted.load() + server.held_at_close.load()));
  CHECK(report["duplicates"] == static_cast<double>(server.duplicated.load()));
  CHECK(report["reordered"] == static_cast<double>(server.swapped.load()));
  CHECK(server.swapped.load() > 0);
}

TEST_CASE("load harness: against ringcast-echo, echo and broadcast runs are clean and exit 0"
          * doctest::test_suite("io_alone")) {
  test::ServerProcess server = start_server("ringcast-echo", {"--port", "0", "--shards", "2", "--log", "info"});
  REQUIRE(server.port() > 0);
  const std::string url = fmt::format("ws://127.0.0.1:{}", server.port());
  LoadReport echo;
  CHECK(run_load({"--scenario", "echo", "--url", url, "--connections", "50", "--inflight", "4", "--size", "512",
                  "--duration", "1", "--warmup", "0.2", "--server-pid", std::to_string(server.pid())},
                 echo) == 0);
  CHECK(echo["received"] > 0);
  CHECK(echo["lost"] == 0);
  // The server's CPU over the measured phase: some, and at most all of its two shards' time.
  CHECK(echo["server_cpu_seconds"] > 0);
  CHECK(echo["server_cpu_seconds"] <= 2 * echo["measured_seconds"] + 0.05);  // + one clock tick per shard
  CHECK(echo["server_us_per_message"] > 0);
  CHECK(echo["yield_us"] == 200);  // echo's client threads yield a shared CPU to the server
  LoadReport broadcast;
  CHECK(run_load({"--scenario", "broadcast", "--url", url, "--connections", "60", "--rooms", "3", "--publishers", "6",
                  "--window", "8", "--duration", "1", "--warmup", "0.2"},
                 broadcast) == 0);
  CHECK(broadcast["received"] > 0);
  check_streams_clean(broadcast);
  CHECK(broadcast["yield_us"] == 0);  // broadcast's never do: they are the side short of CPU
  // Paced publishers: the rate asked for, spread over each period, and the run ends on time.
  LoadReport paced;
  CHECK(run_load({"--scenario", "broadcast", "--url", url, "--connections", "40", "--publishers", "4", "--rate", "50",
                  "--window", "8", "--duration", "1", "--warmup", "0.2", "--yield-us", "50"},
                 paced) == 0);
  CHECK(paced["sent_per_second"] == doctest::Approx(200).epsilon(0.15));
  CHECK(paced["received_total"] == paced["sent_total"] * 40);
  CHECK(paced["lost"] == 0);
  CHECK(paced["yield_us"] == 50);  // --yield-us overrides the scenario's choice
  // Paced echo: the rate per connection, each echo still checked.
  LoadReport paced_echo;
  CHECK(run_load({"--scenario", "echo", "--url", url, "--connections", "20", "--rate", "100", "--inflight", "4",
                  "--duration", "1", "--warmup", "0.2"},
                 paced_echo) == 0);
  CHECK(paced_echo["sent_per_second"] == doctest::Approx(2000).epsilon(0.15));
  CHECK(paced_echo["received_total"] == paced_echo["sent_total"]);
  LoadReport too_many;
  // The descriptor limit is said up front, with exit status 2.
  CHECK(run_load({"--scenario", "idle", "--url", url, "--connections", "5000000"}, too_many) == 2);
  CHECK(server.stop() == 0);
}

// The chat scenario against the real ringcast-chat: logins (POST /login, then /ws with the one-time
// token), rooms, and every publisher's order checked. The server lets two logins of one address run
// at once and answers the others 429: the harness tries those again, so every connection opens.
TEST_CASE("load harness: the chat scenario drives ringcast-chat end to end, trying a login again after 429") {
  test::ServerProcess server = start_server(
      "ringcast-chat", {"--port", "0", "--shards", "2", "--host", "127.0.0.1", "--login-failures", "2", "--log", "info"});
  REQUIRE(server.port() > 0);
  LoadReport run;
  CHECK(run_load({"--scenario", "chat", "--url", fmt::format("ws://127.0.0.1:{}", server.port()), "--connections",
                  "12", "--rooms", "2", "--publishers", "4", "--window", "4", "--threads", "2", "--duration", "1",
                  "--warmup", "0.2"},
                 run) == 0);
  CHECK(run["connections"] == 12);
  CHECK(run["failed"] == 0);
  CHECK(run["received"] > 0);
  check_streams_clean(run);
  CHECK(server.stop() == 0);
  // Paced publishers, on a server of their own (a room's history holds the last run's messages, which
  // a run in the same rooms would take for its own publishers').
  test::ServerProcess fresh = start_server(
      "ringcast-chat", {"--port", "0", "--shards", "2", "--host", "127.0.0.1", "--login-failures", "0", "--log", "info"});
  REQUIRE(fresh.port() > 0);
  LoadReport paced;
  CHECK(run_load({"--scenario", "chat", "--url", fmt::format("ws://127.0.0.1:{}", fresh.port()), "--connections",
                  "6", "--rooms", "2", "--publishers", "2", "--rate", "50", "--duration", "1", "--warmup", "0.2"},
                 paced) == 0);
  CHECK(paced["sent_per_second"] == doctest::Approx(100).epsilon(0.2));
  check_streams_clean(paced);
  CHECK(fresh.stop() == 0);
}

// A connection that never opens is a failed connection: the messages it could never receive are not
// counted as lost. Connection i goes to the i % 2-th URL, and the second one refuses every connection.
TEST_CASE("load harness: connections that never open are failures, not lost messages") {
  test::ServerProcess server = start_server("ringcast-echo", {"--port", "0", "--shards", "2", "--log", "info"});
  REQUIRE(server.port() > 0);
  // Bound and never listening: a connect to it is refused.
  const int refusing = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const SocketAddress any_port = SocketAddress::loopback(0);
  REQUIRE(::bind(refusing, any_port.data(), any_port.size()) == 0);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  REQUIRE(::getsockname(refusing, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
  LoadReport run;
  CHECK(run_load({"--scenario", "broadcast", "--url",
                  fmt::format("ws://127.0.0.1:{},ws://127.0.0.1:{}", server.port(), ntohs(bound.sin_port)),
                  "--connections", "20", "--publishers", "2", "--window", "4", "--duration", "0.5", "--warmup", "0.1"},
                 run) == 1);  // failed connections fail the run
  ::close(refusing);
  CHECK(run["connections"] == 10);
  CHECK(run["failed"] == 10);
  CHECK(run["received"] > 0);
  check_streams_clean(run);
  CHECK(server.stop() == 0);
}

}  // TEST_SUITE
