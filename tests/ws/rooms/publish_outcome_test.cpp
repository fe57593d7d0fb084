// What a publisher learns of its message (ringcast/ws/rooms/publish_outcome.hpp, room_report.hpp): a
// room whose members sit on two shards, some within their budget and some over it, reports exact counts
// under both slow-consumer policies, per call and per room, and /metrics agrees; a durable room's outcome
// carries the offset its members see, a sequenced room's the number; a publish before start, after
// stop, or to a name no room can have returns false and reports nothing; on_done runs once per publish,
// on the publishing shard, even while members close. Real sockets.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/publish_outcomes.hpp"
#include "tests/support/raw_ws_checks.hpp"
#include "tests/support/raw_ws_client.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

struct Member {
  std::string room;
};

constexpr size_t kSlowBudget = 16 << 10;
constexpr size_t kLarge = 32 << 10;  // over a slow member's budget, well within a healthy one's

using Outcomes = PublishOutcomes;

// Members at /fast/NAME (the default budget, 1 MiB) and /slow/NAME (16 KiB); /pub/NAME publishes each
// message it gets to NAME with ws.publish and an on_done. Room "skip" skips members over their budget,
// every other room closes them. Two shards.
struct OutcomeServer {
  explicit OutcomeServer(unsigned shards = 2, RoomOptions defaults = {})
      : app(AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = shards}, .loop = loop_options()}) {
    auto join = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); };
    auto open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); };
    // A durable room's members hear when their live stream starts.
    auto subscribed = [this](WebSocket<Member>&, std::string_view, const SubscribeResult&) { live.fetch_add(1); };
    app.ws<Member>("/fast/:name", {.on_upgrade = join, .on_open = open, .on_subscribed = subscribed});
    app.ws<Member>("/slow/:name", {.on_upgrade = join, .on_open = open, .limits = {.max_backpressure = kSlowBudget}});
    app.ws<Member>("/pub/:name", {
        .on_upgrade = join,
        .on_message =
            [this](WebSocket<Member>& ws, std::string_view m, OpCode op) {
              const unsigned shard = Shard::current()->id();
              ws.publish(ws.data().room, m, op, [this, shard](const PublishOutcome& o) {
                same_shard.fetch_add(Shard::current() && Shard::current()->id() == shard ? 1 : 0);
                from_ws.collect()(o);
              });
            },
    });
    app.default_room_options(std::move(defaults));
    app.room_options("skip", {.slow_consumer = SlowConsumer::skip});
  }
  ~OutcomeServer() {
    app.stop();
    app.join();
  }
  uint64_t metric(std::string_view name) const {
    uint64_t sum = 0;
    for (uint64_t v : metric_by_shard(app.metrics(), name)) sum += v;
    return sum;
  }
  RawWsClient join(const std::string& path) {
    RawWsClient c(app.port());
    REQUIRE(c.connected());
    REQUIRE(c.handshake(path));
    return c;
  }
  // `fast` and `slow` members of `room`, once the room's home shard knows of every one of them (a
  // report sums what each shard answers the home, which hears of a shard's members before its answer).
  // `spread`: more fast members join until both shards have some (the kernel picks each one's shard).
  void members(const std::string& room, int fast, int slow, std::vector<RawWsClient>& fast_out,
               std::vector<RawWsClient>& slow_out, bool spread = false) {
    for (int i = 0; i < fast; ++i) fast_out.push_back(join("/fast/" + room));
    for (int i = 0; i < slow; ++i) slow_out.push_back(join("/slow/" + room));
    for (;;) {
      const size_t n = fast_out.size() + slow_out.size();
      REQUIRE(eventually([&] { return app.room_report(room).members == n; }, 10s));
      if (!spread || app.room_report(room).shards == 2) return;
      REQUIRE(n < 64);
      fast_out.push_back(join("/fast/" + room));
    }
  }

  App app;
  Outcomes from_ws;
  std::atomic<int> same_shard{0};
  std::atomic<int> live{0};  // members of durable rooms whose live stream started
};

}  // namespace

TEST_CASE("rooms: before start publish returns false, its on_done never runs, and a room's report is empty") {
  OutcomeServer server;
  bool ran = false;
  CHECK_FALSE(server.app.publish("lobby", "early", OpCode::text, [&](const PublishOutcome&) { ran = true; }));
  CHECK_FALSE(server.app.publish_sequenced("lobby", "early", OpCode::text, [&](const PublishOutcome&) { ran = true; }));
  const RoomReport r = server.app.room_report("lobby");
  CHECK(r.members == 0);
  CHECK(r.published == 0);
  CHECK(r.deliveries == 0);
  CHECK_FALSE(ran);
}

TEST_SUITE("io") {

TEST_CASE("rooms: healthy and slow members on two shards; under skip the outcome and the room's report count the slow ones skipped") {
  OutcomeServer server;
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("skip", 8, 8, fast, slow, true);
  const uint64_t nf = fast.size(), ns = slow.size();

  Outcomes outcomes;
  const std::string large(kLarge, 'L');
  REQUIRE(server.app.publish("skip", large, OpCode::binary, outcomes.collect()));
  const PublishOutcome o = outcomes.wait(1);
  CHECK(o.status == PublishStatus::fanned_out);
  CHECK(o.shards == 2);
  CHECK(o.deliveries == nf);
  CHECK(o.skipped_slow == ns);
  CHECK(o.closed_slow == 0);
  CHECK(o.position == Position{});
  for (RawWsClient& c : fast) expect_frame(c, op::kBinary, large);
  // The slow members' queues stayed empty: the next, small message reaches all sixteen, and nothing
  // came before it.
  REQUIRE(server.app.publish("skip", "small", OpCode::text, outcomes.collect()));
  const PublishOutcome small = outcomes.wait(2);
  CHECK(small.deliveries == nf + ns);
  CHECK(small.skipped_slow == 0);
  for (RawWsClient& c : slow) expect_frame(c, op::kText, "small");
  for (RawWsClient& c : fast) expect_frame(c, op::kText, "small");
  {
    std::lock_guard lock(outcomes.mutex);
    CHECK(outcomes.on_shard == std::vector<bool>{true, true});  // on the room's home shard
  }

  const RoomReport r = server.app.room_report("skip");
  CHECK(r.members == nf + ns);
  CHECK(r.shards == 2);
  CHECK(r.published == 2);
  CHECK(r.deliveries == 2 * nf + ns);
  CHECK(r.skipped_slow == ns);
  CHECK(r.closed_slow == 0);
  CHECK(r.append_failed == 0);
  // /metrics counts the same, over every room (there is one).
  CHECK(server.metric("room_published_total") == r.published);
  CHECK(server.metric("room_deliveries_total") == r.deliveries);
  CHECK(server.metric("room_skipped_slow_total") == r.skipped_slow);
}

TEST_CASE("rooms: healthy and slow members on two shards; under close the outcome and the room's report count the slow ones closed") {
  OutcomeServer server;
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("close", 6, 5, fast, slow, true);
  const uint64_t nf = fast.size(), ns = slow.size();

  Outcomes outcomes;
  const std::string large(kLarge, 'L');
  REQUIRE(server.app.publish("close", large, OpCode::binary, outcomes.collect()));
  const PublishOutcome o = outcomes.wait(1);
  CHECK(o.status == PublishStatus::fanned_out);
  CHECK(o.shards == 2);
  CHECK(o.deliveries == nf);
  CHECK(o.skipped_slow == 0);
  CHECK(o.closed_slow == ns);
  for (RawWsClient& c : slow) expect_fail(c, 1008);
  for (RawWsClient& c : fast) expect_frame(c, op::kBinary, large);

  // The closed members left the room; the report keeps what happened to them.
  REQUIRE(eventually([&] { return server.app.room_report("close").members == nf; }, 5s));
  REQUIRE(server.app.publish("close", "after", OpCode::text, outcomes.collect()));
  CHECK(outcomes.wait(2).deliveries == nf);
  for (RawWsClient& c : fast) expect_frame(c, op::kText, "after");
  const RoomReport r = server.app.room_report("close");
  CHECK(r.published == 2);
  CHECK(r.deliveries == 2 * nf);
  CHECK(r.closed_slow == ns);
  CHECK(r.skipped_slow == 0);
  CHECK(server.metric("room_closed_slow_total") == ns);
}

TEST_CASE("rooms: ws.publish's on_done runs on the publisher's shard, with every other member counted") {
  OutcomeServer server;
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("lobby", 6, 0, fast, slow);
  RawWsClient publisher = server.join("/pub/lobby");  // not a member: it publishes only
  for (int i = 0; i < 3; ++i) REQUIRE(publisher.send_text(fmt::format("m{}", i)));
  for (size_t n = 1; n <= 3; ++n) {
    const PublishOutcome o = server.from_ws.wait(n);
    CHECK(o.deliveries == 6);
    CHECK(o.closed_slow + o.skipped_slow == 0);
  }
  CHECK(server.same_shard.load() == 3);
  for (RawWsClient& c : fast) {
    for (int i = 0; i < 3; ++i) expect_frame(c, op::kText, fmt::format("m{}", i));
  }
}

TEST_CASE("rooms: a publish to a room nobody is in reaches no one, and its on_done still runs once") {
  OutcomeServer server;
  server.app.start();
  Outcomes outcomes;
  REQUIRE(server.app.publish("empty", "anyone?", OpCode::text, outcomes.collect()));
  const PublishOutcome o = outcomes.wait(1);
  CHECK(o.status == PublishStatus::fanned_out);
  CHECK(o.shards == 0);
  CHECK(o.deliveries == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(outcomes.count() == 1);
  CHECK(server.app.room_report("empty").published == 0);  // a room nobody is in keeps no counts
}

TEST_CASE("rooms: a sequenced room's publish outcome carries the number each member sees") {
  OutcomeServer server(2, {.stamp = [](std::string_view, uint64_t seq, std::string_view m) {
                          return fmt::format("{}|{}", seq, m);
                        }});
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("seq", 4, 0, fast, slow);
  Outcomes outcomes;
  for (int i = 1; i <= 3; ++i) REQUIRE(server.app.publish_sequenced("seq", fmt::format("s{}", i), OpCode::text, outcomes.collect()));
  for (size_t n = 1; n <= 3; ++n) {
    const PublishOutcome o = outcomes.wait(n);
    CHECK(o.position == Position{0, n});
    CHECK(o.deliveries == 4);
  }
  for (RawWsClient& c : fast) {
    for (int i = 1; i <= 3; ++i) expect_frame(c, op::kText, fmt::format("{}|s{}", i, i));
  }
}

TEST_CASE("rooms: a durable room's publish outcome carries the epoch and offset its members see, across shards") {
  OutcomeServer server(2, {.kind = RoomKind::durable, .stamp = [](std::string_view, uint64_t seq, std::string_view m) {
                             return fmt::format("{}|{}", seq, m);
                           }});
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("log", 8, 0, fast, slow, true);
  const uint64_t nf = fast.size();
  REQUIRE(eventually([&] { return server.live.load() == int(nf); }, 5s));  // joined, no longer pending
  Outcomes outcomes;
  for (int i = 1; i <= 3; ++i) REQUIRE(server.app.publish("log", fmt::format("d{}", i), OpCode::text, outcomes.collect()));
  uint64_t epoch = 0;
  for (size_t n = 1; n <= 3; ++n) {
    const PublishOutcome o = outcomes.wait(n);
    CHECK(o.status == PublishStatus::fanned_out);
    CHECK(o.position.offset == n);
    CHECK(o.position.epoch != 0);
    if (n == 1) epoch = o.position.epoch;
    CHECK(o.position.epoch == epoch);
    CHECK(o.shards == 2);
    CHECK(o.deliveries == nf);
  }
  for (RawWsClient& c : fast) {
    for (int i = 1; i <= 3; ++i) expect_frame(c, op::kText, fmt::format("{}|d{}", i, i));
  }
  // ws.publish to a durable room reaches the publisher too, and hears the offset.
  RawWsClient publisher = server.join("/pub/log");
  REQUIRE(publisher.send_text("d4"));
  const PublishOutcome o = server.from_ws.wait(1);
  CHECK(o.position == Position{epoch, 4});
  CHECK(o.deliveries == nf);
  const RoomReport r = server.app.room_report("log");
  CHECK(r.published == 4);
  CHECK(r.deliveries == 4 * nf);
}

TEST_CASE("rooms: after stop, and for a name no room can have, publish returns false and reports nothing") {
  OutcomeServer server;
  server.app.start();
  std::atomic<int> ran{0};
  auto count = [&](const PublishOutcome&) { ran.fetch_add(1); };
  CHECK_FALSE(server.app.publish("", "nameless", OpCode::text, count));
  CHECK_FALSE(server.app.publish(std::string(Rooms::kMaxRoomName + 1, 'r'), "too long a name", OpCode::text, count));
  CHECK_FALSE(server.app.publish_sequenced("", "nameless", OpCode::text, count));
  CHECK(server.app.publish(std::string(Rooms::kMaxRoomName, 'r'), "longest name", OpCode::text, count));
  REQUIRE(eventually([&] { return ran.load() == 1; }, 5s));

  {  // Members came and went (gone before the stop, which would wait for their closing handshakes).
    std::vector<RawWsClient> fast, slow;
    server.members("lobby", 2, 0, fast, slow);
  }
  server.app.stop();
  server.app.join();
  CHECK_FALSE(server.app.publish("lobby", "late", OpCode::text, count));
  CHECK_FALSE(server.app.publish_sequenced("lobby", "late", OpCode::text, count));
  CHECK(server.app.room_report("lobby").members == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(ran.load() == 1);
}

TEST_CASE("rooms: a publish's on_done runs exactly once while members close and leave meanwhile") {
  constexpr int kMembers = 24;
  constexpr int kPublishes = 2000;
  OutcomeServer server;
  server.app.start();
  std::vector<RawWsClient> fast, slow;
  server.members("churn", kMembers, 0, fast, slow);
  std::vector<std::atomic<int>> calls(kPublishes);
  std::atomic<uint64_t> deliveries{0};
  std::thread publisher([&] {
    for (int i = 0; i < kPublishes; ++i) {
      CHECK(server.app.publish("churn", fmt::format("m{}", i), OpCode::text, [&, i](const PublishOutcome& o) {
        calls[i].fetch_add(1);
        deliveries.fetch_add(o.deliveries);
      }));
    }
  });
  // Members go while the publishes are fanned out: half close their TCP at once, the rest stay.
  for (int i = 0; i < kMembers / 2; ++i) {
    fast.pop_back();
    std::this_thread::sleep_for(1ms);
  }
  publisher.join();
  REQUIRE(eventually(
      [&] {
        int n = 0;
        for (auto& c : calls) n += c.load() ? 1 : 0;
        return n == kPublishes;
      },
      20s));
  std::this_thread::sleep_for(100ms);  // a second call would come by now
  for (int i = 0; i < kPublishes; ++i) {
    if (calls[i].load() != 1) FAIL("on_done of publish " << i << " ran " << calls[i].load() << " times");
  }
  CHECK(deliveries.load() <= uint64_t(kMembers) * kPublishes);
  CHECK(deliveries.load() >= uint64_t(kMembers / 2) * kPublishes);
  // The report counts the same deliveries.
  CHECK(server.app.room_report("churn").deliveries == deliveries.load());
}

}  // TEST_SUITE("io")
