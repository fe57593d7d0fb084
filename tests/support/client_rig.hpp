#pragma once
// ClientRig: the ringcast WebSocket client on a one-shard runtime of the backend under test, driven
// from the test's thread (results come back through the test's atomics and locks). EchoScript: a
// client behaviour that sends text and binary messages of given sizes one after the other, checks
// each echo, and closes with 1000. Used by the client tests over ws:// and wss://.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

// Each connection's user data: which of the test's connections it is.
struct ClientPeer {
  int id = 0;
};

class ClientRig {
 public:
  explicit ClientRig(ClientBehavior<ClientPeer> behavior) {
    runtime_ = std::make_unique<Runtime>(RuntimeOptions{
        .shards = {.count = 1},
        .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, loop_options()); },
        .on_start = [this, behavior](Shard&) {
          client_ = std::make_unique<WebSocketClient<ClientPeer>>(Loop::current(), behavior);
        }});
    runtime_->start();
  }
  ~ClientRig() {
    runtime_->stop();
    runtime_->join();
    runtime_.reset();  // loops end before the client they call
  }
  ClientRig(const ClientRig&) = delete;
  ClientRig& operator=(const ClientRig&) = delete;

  // Opens a connection to `url` as connection `id` (on the client's shard).
  void connect(const std::string& url, int id = 0) {
    runtime_->shard(0).post([this, url, id](Shard&) {
      std::string error;
      auto u = WebSocketUrl::parse(url, error);
      REQUIRE(u);
      REQUIRE(client_->connect(*u, ClientPeer{id}));
    });
  }

 private:
  std::unique_ptr<WebSocketClient<ClientPeer>> client_;  // the client shard's thread only
  std::unique_ptr<Runtime> runtime_;
};

// `n` random letters (text) or random bytes (binary), the same for the same seed.
inline std::string random_payload(size_t n, uint64_t seed, bool text) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = text ? static_cast<char>('a' + rng() % 26) : static_cast<char>(rng());
  return s;
}

// Sends each message once the previous one came back, checks it, and closes with 1000 "done" after
// the last. Callbacks run on the client's shard; the test reads the outcome once `done` is set.
struct EchoScript {
  std::vector<std::pair<std::string, OpCode>> messages;
  std::atomic<size_t> next{0};
  std::atomic<int> mismatches{0};
  std::atomic<bool> opened{false}, done{false}, deflate{false};
  std::atomic<int> close_code{0};
  bool compress = false;
  std::mutex m;
  std::string close_reason, error;  // guarded by m

  // A text and a binary message of each size in `sizes`, then `prose_bytes` of repeated English
  // (random letters shrink a little under permessage-deflate, repeated phrases a lot).
  EchoScript(std::initializer_list<size_t> sizes, size_t prose_bytes, bool with_deflate = false) : compress(with_deflate) {
    for (size_t n : sizes) {
      messages.emplace_back(random_payload(n, n, true), OpCode::text);
      messages.emplace_back(random_payload(n, n + 1, false), OpCode::binary);
    }
    std::string prose;
    while (prose.size() < prose_bytes) prose += "the quick brown fox jumps over the lazy dog; ";
    messages.emplace_back(prose, OpCode::text);
  }

  // Once done: every message came back intact, permessage-deflate was agreed exactly when offered,
  // and the connection closed with 1000.
  void check_all_echoed() {
    std::lock_guard lock(m);
    CHECK(error.empty());
    CHECK(opened);
    CHECK(deflate == compress);
    CHECK(next == messages.size());
    CHECK(mismatches == 0);
    CHECK(close_code == 1000);
  }

  ClientBehavior<ClientPeer> behavior(std::shared_ptr<const TlsContext> tls = nullptr) {
    return {
        .on_open =
            [this](WebSocket<ClientPeer>& ws) {
              opened = true;
              deflate = ws.deflate();
              ws.send(messages[0].first, messages[0].second, compress);
            },
        .on_message =
            [this](WebSocket<ClientPeer>& ws, std::string_view msg, OpCode op) {
              const size_t i = next.load();
              if (msg != messages[i].first || op != messages[i].second) ++mismatches;
              next = i + 1;
              if (i + 1 < messages.size()) {
                ws.send(messages[i + 1].first, messages[i + 1].second, compress);
              } else {
                ws.close(1000, "done");
              }
            },
        .on_close =
            [this](WebSocket<ClientPeer>&, int code, std::string_view reason) {
              std::lock_guard lock(m);
              close_code = code;
              close_reason = reason;
              done = true;
            },
        .on_error =
            [this](WebSocket<ClientPeer>&, std::string_view why) {
              std::lock_guard lock(m);
              error = why;
              done = true;
            },
        .handshake = {.tls = std::move(tls)},
        .compression = DeflateOptions{.enabled = compress},
    };
  }
};

}  // namespace ringcast::test
