#pragma once
// DurableNode: an App (one node) whose rooms are all durable, stamped "N|message", with a test protocol,
// and DurableClient, a blocking client of it. Used by the durable-room tests, alone and across nodes.
//   /d/:name     joins with a message "join <epoch> <offset> <tail> [user]" (epoch "-": no position; a
//                user: counted in the room's presence), answered "subscribed <epoch> <offset> <recovered
//                0|1> <replayed> [members,...]" (again, with recovered 0, if the stream later breaks);
//                any other message is published. Presence: "presence <user> <joined|left>".
//   /auto/:name  the bench protocol on a durable room: joins at open, every message published.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

struct DurableMember {
  std::string room;
};

inline uint64_t parse_number(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

struct DurableNode {
  struct Options {
    uint32_t history = 100;
    unsigned shards = 4;
    std::string broker;  // redis://...: a node of a cluster
    size_t max_backpressure = WebSocketLimits{}.max_backpressure;  // of /d/:name
  };
  std::unique_ptr<App> app;
  std::atomic<int> subscribed{0};

  explicit DurableNode(Options o) {
    app = std::make_unique<App>(
        AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = o.shards}, .loop = loop_options(), .broker = o.broker});
    App* a = app.get();
    auto join = [](Request& req, Upgrade<DurableMember>& up) { up.accept(DurableMember{std::string(req.param("name"))}); };
    auto on_subscribed = [this](WebSocket<DurableMember>& ws, std::string_view, const SubscribeResult& r) {
      ++subscribed;
      ws.send(fmt::format("subscribed {} {} {} {}{}{}", r.position.epoch, r.position.offset, r.recovered ? 1 : 0,
                          r.replayed, r.members.empty() ? "" : " ", fmt::join(r.members, ",")));
    };
    app->ws<DurableMember>("/d/:name", {
        .on_upgrade = join,
        .on_message =
            [a](WebSocket<DurableMember>& ws, std::string_view m, OpCode op) {
              if (!m.starts_with("join ")) {
                a->rooms().publish(ws.data().room, m, op);
                return;
              }
              // "join <epoch> <offset> <tail> [user]"
              const auto f1 = m.find(' ', 5), f2 = m.find(' ', f1 + 1), f3 = m.find(' ', f2 + 1);
              const std::string_view epoch = m.substr(5, f1 - 5);
              SubscribeOptions so{.tail = static_cast<uint32_t>(parse_number(m.substr(f2 + 1, f3 - f2 - 1))),
                                  .presence = f3 == std::string_view::npos ? std::string_view{} : m.substr(f3 + 1)};
              if (epoch != "-") so.since = Position{parse_number(epoch), parse_number(m.substr(f1 + 1, f2 - f1 - 1))};
              ws.subscribe(ws.data().room, so);
            },
        .on_subscribed = on_subscribed,
        .limits = {.max_backpressure = o.max_backpressure},
    });
    app->ws<DurableMember>("/auto/:name", {
        .on_upgrade = join,
        .on_open = [](WebSocket<DurableMember>& ws) { ws.subscribe(ws.data().room, SubscribeOptions{}); },
        .on_message = [a](WebSocket<DurableMember>& ws, std::string_view m, OpCode op) {
          a->rooms().publish(ws.data().room, m, op);
        },
        .on_subscribed = [this](WebSocket<DurableMember>&, std::string_view, const SubscribeResult&) { ++subscribed; },
    });
    app->default_room_options({.kind = RoomKind::durable,
                               .history_size = o.history,
                               .stamp = [](std::string_view, uint64_t seq, std::string_view m) {
                                 return fmt::format("{}|{}", seq, m);
                               },
                               .presence_message = [](std::string_view, std::string_view user, bool joined) {
                                 return fmt::format("presence {} {}", user, joined ? "joined" : "left");
                               }});
    app->start();
  }
  ~DurableNode() {
    app->stop();
    app->join();
  }
  uint16_t port() const { return app->port(); }
};

// A blocking client of /d/NAME.
struct DurableClient {
  RawWsClient ws;
  DurableClient(uint16_t port, std::string_view room) : ws(port) { REQUIRE(ws.handshake(fmt::format("/d/{}", room))); }
  std::string next(int timeout_ms = RawWsClient::kDefaultTimeoutMs) {
    RawFrame f;
    REQUIRE(ws.read_frame(f, timeout_ms) == ReadStatus::frame);
    return f.payload;
  }
  // `position` is "<epoch> <offset>", or "-" for none.
  void join(std::string_view position, uint32_t tail, std::string_view user = {}) {
    REQUIRE(ws.send_text(fmt::format("join {} {}{}{}", position == "-" ? "- 0" : position, tail, user.empty() ? "" : " ", user)));
  }
  void say(std::string_view m) { REQUIRE(ws.send_text(m)); }
};

struct Subscribed {
  uint64_t epoch = 0, offset = 0;
  int recovered = -1;
  unsigned replayed = 0;
  std::string members;
  std::string position() const { return fmt::format("{} {}", epoch, offset); }
};

inline Subscribed parse_subscribed(const std::string& s) {
  REQUIRE(s.starts_with("subscribed "));
  Subscribed r;
  char members[512] = "";
  REQUIRE(std::sscanf(s.c_str(), "subscribed %lu %lu %d %u %511s", &r.epoch, &r.offset, &r.recovered, &r.replayed, members) >= 4);
  r.members = members;
  return r;
}

}  // namespace ringcast::test
