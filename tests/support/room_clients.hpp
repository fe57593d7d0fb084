#pragma once
// RoomClients: a group of WebSocket clients (the ringcast client, on a one-shard runtime of their own)
// in one room of a server speaking the bench protocol. The first `publishers` of them publish
// `per_publisher` messages "id:seq:padding" each, keeping `window` of their own in flight (the next
// leaves when their own copy comes back); every member checks that each publisher's numbers arrive
// once and in order, and that the padding is intact. Messages of another form (no ':') are logged, as
// is everything in a sequenced room ("N|id:seq:padding"). Used by the rooms and broker tests.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

struct RoomPeer {
  int id = 0;
};

struct RoomClients {
  struct Options {
    int members = 0;
    int publishers = 0;       // the first `publishers` members publish
    int per_publisher = 0;
    int window = 1;
    int first_id = 0;         // this group's publishers are first_id, first_id + 1, ... (groups share a room)
    int all_publishers = 0;   // publisher ids in the room are [0, all_publishers); 0: this group's alone
    bool sequenced = false;   // messages arrive as "N|id:seq:padding"
    bool deflate = false;     // offer permessage-deflate
    size_t padding = 0;       // bytes of compressible text appended to every message
    bool publishes = true;    // false: even the first `publishers` only listen
  };

  const Options opt;
  const int members, publishers, per_publisher;
  std::string padding;
  std::atomic<int> opened{0}, closed{0}, negotiated{0}, bad_padding{0};
  std::atomic<uint64_t> total{0};
  std::vector<std::vector<int>> last;  // [member][publisher]: last sequence number seen
  std::vector<uint64_t> received;
  std::vector<uint64_t> disorder;      // duplicates, gaps or reordering seen by a member
  std::vector<int> sent;               // [publisher]
  std::vector<WebSocketBase*> sockets;

  explicit RoomClients(Options o)
      : opt(o), members(o.members), publishers(o.publishers), per_publisher(o.per_publisher),
        last(o.members, std::vector<int>(std::max({o.all_publishers, o.first_id + o.publishers, 1}), 0)),
        received(o.members, 0), disorder(o.members, 0), sent(std::max(o.publishers, 1), 0),
        sockets(o.members, nullptr), log_(o.members) {
    while (padding.size() < o.padding) padding += " all work and no play makes a dull room";
    padding.resize(o.padding);
    runtime_ = std::make_unique<Runtime>(RuntimeOptions{
        .shards = {.count = 1},
        .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, loop_options()); },
        .on_start = [this](Shard&) { client_ = std::make_unique<WebSocketClient<RoomPeer>>(Loop::current(), behavior()); }});
    runtime_->start();
  }
  ~RoomClients() {
    runtime_->stop();
    runtime_->join();
    runtime_.reset();
  }
  RoomClients(const RoomClients&) = delete;
  RoomClients& operator=(const RoomClients&) = delete;

  void connect(uint16_t port, const std::string& path) {
    on_client([this, port, path] {
      std::string error;
      auto url = WebSocketUrl::parse(fmt::format("ws://127.0.0.1:{}{}", port, path), error);
      for (int i = 0; i < members; ++i) REQUIRE(client_->connect(*url, RoomPeer{i}));
    });
  }
  void start_publishing() {
    on_client([this] {
      for (int i = 0; i < publishers; ++i) {
        for (int k = 0; k < opt.window && sent[i] < per_publisher; ++k) send_next(i);
      }
    });
  }
  // Member i sends a free-form message.
  void say(int i, std::string text) {
    on_client([this, i, text = std::move(text)] { sockets[i]->send(text, OpCode::text, true); });
  }
  void close(int i) {
    on_client([this, i] { sockets[i]->close(); });
  }
  void close_all() {
    on_client([this] {
      for (auto* ws : sockets) ws->close();
    });
  }
  uint64_t expected() const { return uint64_t(members) * publishers * per_publisher; }

  // What member i logged (free-form messages; in a sequenced room, everything in arrival order).
  std::vector<std::string> log(int i) {
    std::lock_guard lock(log_mutex_);
    return log_[i];
  }
  // Every member saw `text` (a free-form message) exactly once; any member saw it.
  bool all_saw(std::string_view text) { return count_members(text, 1) == members; }
  bool any_saw(std::string_view text) { return count_members(text, 0) < members; }

 private:
  template <typename Fn>
  void on_client(Fn fn) {
    runtime_->shard(0).post([fn = std::move(fn)](Shard&) { fn(); });
  }

  void send_next(int i) {
    sockets[i]->send(fmt::format("{}:{}:{}", opt.first_id + i, ++sent[i], padding), OpCode::text, true);
  }

  int count_members(std::string_view text, long times) {
    std::lock_guard lock(log_mutex_);
    return static_cast<int>(std::count_if(log_.begin(), log_.end(), [&](const auto& l) {
      return std::count(l.begin(), l.end(), text) == times;
    }));
  }

  ClientBehavior<RoomPeer> behavior() {
    return {
        .on_open =
            [this](WebSocket<RoomPeer>& ws) {
              sockets[ws.data().id] = &ws;
              if (ws.deflate()) ++negotiated;
              ++opened;
            },
        .on_message = [this](WebSocket<RoomPeer>& ws, std::string_view m, OpCode) { on_message(ws.data().id, m); },
        .on_close = [this](WebSocket<RoomPeer>&, int, std::string_view) { ++closed; },
        .compression = DeflateOptions{.enabled = opt.deflate},
    };
  }

  void on_message(int me, std::string_view m) {
    if (opt.sequenced || m.find(':') == std::string_view::npos) {
      std::lock_guard lock(log_mutex_);
      log_[me].emplace_back(m);
      if (!opt.sequenced) return;
      m = m.substr(m.find('|') + 1);
    }
    const size_t colon = m.find(':');
    const size_t colon2 = m.find(':', colon + 1);
    int p = -1, seq = 0;
    std::from_chars(m.data(), m.data() + colon, p);
    std::from_chars(m.data() + colon + 1, m.data() + std::min(colon2, m.size()), seq);
    if (colon2 == std::string_view::npos || m.substr(colon2 + 1) != padding) ++bad_padding;
    if (p < 0 || static_cast<size_t>(p) >= last[me].size() || seq != last[me][p] + 1) {
      ++disorder[me];
    } else {
      last[me][p] = seq;
    }
    ++received[me];
    total.fetch_add(1, std::memory_order_release);
    const int mine = p - opt.first_id;
    if (opt.publishes && mine == me && me < publishers && sent[me] < per_publisher) send_next(me);
  }

  std::mutex log_mutex_;
  std::vector<std::vector<std::string>> log_;
  std::unique_ptr<WebSocketClient<RoomPeer>> client_;
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace ringcast::test
