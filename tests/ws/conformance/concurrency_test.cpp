// Conformance under concurrency: the cases of the other groups, run by many clients at once against
// one server, so that connections on the same shard interleave their partial frames, assembled
// messages, control frames split across reads and failures, and share the shard's pooled buffers.
// Every client checks every reply; the checks run on the client threads and are counted, then
// asserted on the test thread.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

namespace {

bool is_frame(RawWsClient& c, uint8_t opcode, std::string_view payload) {
  RawFrame f;
  return c.read_frame(f) == ReadStatus::frame && f.opcode == opcode && f.fin && !f.masked && f.rsv == 0 &&
         f.payload == payload;
}

bool is_closed_with(RawWsClient& c, int code, bool reply) {
  const CloseOutcome o = c.read_until_close(RawWsClient::kDefaultTimeoutMs, reply);
  return o.close_received && o.code == code && o.before.empty() && o.server_frames_ok && o.clean();
}

// One scenario on a new connection; true when every reply was right.
bool run_scenario(uint16_t port, int scenario, int seed) {
  RawWsClient c(port, Delivery::chunks(1 + seed % 5));
  if (!c.handshake()) return false;
  switch (scenario) {
    case 0: {  // a fragmented text message with a ping between its fragments
      const std::string text = text_payload(200 + seed % 300);
      c.send_text(std::string_view(text).substr(0, 100), false);
      c.send_ping("between " + std::to_string(seed));
      c.send_continuation(std::string_view(text).substr(100), true);
      return is_frame(c, op::kPong, "between " + std::to_string(seed)) && is_frame(c, op::kText, text);
    }
    case 1: {  // a large binary message, written in large chunks
      c.set_delivery(Delivery::chunks(4096 + seed));
      const std::string bin = binary_payload((256 << 10) + seed);
      c.send_binary(bin);
      return is_frame(c, op::kBinary, bin);
    }
    case 2: {  // invalid UTF-8 mid-fragment: fail fast
      c.send_text("valid start \xce\xba", false);
      c.send_continuation("\xe1\xbd\xb9 then \xed\xa0\x80", false);
      return is_closed_with(c, 1007, true);
    }
    case 3: {  // an echo, then a reserved opcode
      c.send_text("before");
      if (!is_frame(c, op::kText, "before")) return false;
      c.send_frame({.opcode = static_cast<uint8_t>(3 + seed % 5), .payload = "reserved"});
      return is_closed_with(c, 1002, true);
    }
    default: {  // a closing handshake with a reason split across reads
      c.send_close(static_cast<uint16_t>(3000 + seed), "see you " + std::to_string(seed));
      return is_closed_with(c, 3000 + seed, false);
    }
  }
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance under concurrency: 16 clients at once run fragmented, large, failing and closing cases, each reply right") {
  EchoServer server;
  constexpr int kClients = 16;
  constexpr int kRounds = 15;
  std::atomic<int> passed{0};
  std::mutex mutex;
  std::vector<std::pair<int, int>> failures;  // (client, round)
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < kRounds; ++round) {
        if (run_scenario(server.port(), (i + round) % 5, i * kRounds + round)) {
          passed.fetch_add(1);
        } else {
          std::lock_guard lock(mutex);
          failures.emplace_back(i, round);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto [client, round] : failures) MESSAGE("client ", client, " round ", round, " (scenario ", (client + round) % 5, ") failed");
  CHECK(passed.load() == kClients * kRounds);
  CHECK(server.wait_closes(kClients * kRounds));
}

}  // TEST_SUITE("io")
