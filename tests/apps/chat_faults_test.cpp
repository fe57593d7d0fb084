// The fault suite: ringcast-chat on hosts of their own (network namespaces, tests/support/network_lab.hpp)
// over a Redis Cluster of 3 primaries with a replica each, every Redis node a host too
// (tests/support/fault_cluster.hpp). In each test 9 tabs — alice, bob and carol on each of the 3 chat nodes —
// are in one durable room, one tab per node publishing 25 messages a second, while one fault happens: the
// room's Redis primary killed (-9) or stopped for 5 s (SIGSTOP), a chat node killed (-9) or drained for a
// rolling restart (SIGTERM), or a chat node's cable pulled for 5 s. Each ends with the outcome per tab
// (tests/support/chat_room_members.hpp): every message in the room's one order exactly once, or told
// `recovered: false`, with both counted and printed; every node serving a fresh tab without a restart; and
// the figures of the fault (how long until the tabs were back, until a message was delivered again, until GET
// /ready said so) in the test's output.
//
// Suite "faults": the release build runs them on io_uring and epoll, alone (tests/CMakeLists.txt). Last,
// the network lab's own test: what the others stand on.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/chat_connection.hpp"
#include "tests/support/chat_room_members.hpp"
#include "tests/support/fault_cluster.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/redis_fixture.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::ChatConnection;
using test::ChatJson;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kRoom = "faults";
constexpr double kPerPublisher = 25;  // messages a second, from one tab per node: 75 in all

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The cluster, and alice, bob and carol in the room on every node; the tab of user n publishes on node n.
struct Scenario {
  explicit Scenario(test::FaultClusterOptions options = {}) : cluster(options), tabs(cluster, kRoom) {
    const char* users[] = {"alice", "bob", "carol"};
    for (int node = 0; node < test::FaultCluster::kChatNodes; ++node) {
      for (int u = 0; u < 3; ++u) tabs.add(users[u], node, u == node);
    }
    primaries = cluster.redis().primaries();
  }

  // Every running node serves a fresh tab in the room, and each gets what a fresh tab on every other
  // node publishes: no node needs a restart.
  void check_every_node_serves() {
    std::vector<int> nodes;
    std::vector<std::unique_ptr<ChatConnection>> fresh;
    for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
      if (!cluster.chat_running(n)) continue;
      std::unique_ptr<ChatConnection> tab;
      const bool joined = test::eventually(
          [&] {
            const test::HttpReply login =
                test::post_login(cluster.address(n), test::FaultCluster::kChatPort, R"({"username":"dave","password":"pw-dave"})");
            if (login.status != 200) return false;
            tab = std::make_unique<ChatConnection>(cluster.address(n), test::FaultCluster::kChatPort,
                                                   fmt::format("/ws?otp={}&room={}", ChatJson::str(ChatJson(login.body).root()["otp"]), kRoom));
            return tab->status() == 101;
          },
          10s);
      REQUIRE_MESSAGE(joined, "node ", n, " admits no fresh tab: ", cluster.chat_output(n));
      tab->next_of("room_changed");
      nodes.push_back(n);
      fresh.push_back(std::move(tab));
    }
    for (size_t i = 0; i < fresh.size(); ++i) fresh[i]->send_message(fmt::format("fresh from node {}", nodes[i]));
    for (size_t i = 0; i < fresh.size(); ++i) {
      std::set<std::string> got;
      const auto deadline = Clock::now() + 10s;
      while (got.size() < fresh.size() && Clock::now() < deadline) {
        const std::optional<std::string> m = fresh[i]->next(1s);
        if (!m) continue;
        ChatJson j(*m);
        if (j.type() == "new_message" && j.get("message").rfind("fresh from node ", 0) == 0) got.insert(j.get("message"));
      }
      CHECK_MESSAGE(got.size() == fresh.size(), "the fresh tab on node ", nodes[i], " got ", got.size(), " of ",
                    fresh.size(), " fresh messages");
    }
    tabs.pump(100ms);  // what the tabs got meanwhile
  }

  // GET /ready is 200 again on every running node.
  void check_all_ready() {
    for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
      if (!cluster.chat_running(n)) continue;
      const bool ready = test::eventually(
          [&] { return test::get(cluster.address(n), test::FaultCluster::kChatPort, "/ready").status == 200; }, 15s);
      CHECK_MESSAGE(ready, "node ", n, " not ready: ", test::get(cluster.address(n), test::FaultCluster::kChatPort, "/ready").body);
    }
  }

  std::string probe_round_trips() const {
    std::string out;
    for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
      if (!cluster.chat_running(n)) continue;
      for (double ms : cluster.probe_round_trips_ms(n)) {
        if (ms > 0) out += fmt::format(" {:.2f}", ms);  // 0: a shard with no channels has no probes
      }
    }
    return out + " ms";
  }

  // Every tab connected and in the room (none reconnecting).
  bool all_in_room() {
    for (auto& m : tabs.members()) {
      if (!m->conn || m->resuming) return false;
    }
    return true;
  }

  // How many tabs reconnected after `fault`, and when the last of them was back in the room.
  struct Resumed {
    int tabs = 0;
    Clock::time_point last;
  };
  Resumed resumed_after(Clock::time_point fault) {
    Resumed r{0, fault};
    for (auto& m : tabs.members()) {
      if (m->resumed_at && *m->resumed_at >= fault) {
        ++r.tabs;
        r.last = std::max(r.last, *m->resumed_at);
      }
    }
    return r;
  }

  // The publishers start; after 2 s of them, the Redis primary that holds the room's log.
  int start_publishing() {
    tabs.publish_rate(kPerPublisher);
    tabs.pump(2s);
    const int primary = cluster.primary_of_chat_room(kRoom);
    REQUIRE(primary >= 0);
    return primary;
  }

  // When tabs got messages again after `fault`: the first one published after it, and the longest
  // stretch without any delivery since.
  std::string deliveries_after(Clock::time_point fault) const {
    const auto again = tabs.first_delivery_of_message_sent_after(fault);
    REQUIRE_MESSAGE(again.has_value(), "no message published after the fault was delivered");
    return fmt::format("the first message published after the fault delivered {:.0f} ms after it; longest silence {:.0f} ms",
                       ms_between(fault, *again),
                       std::chrono::duration<double, std::milli>(tabs.longest_silence(fault, Clock::now())).count());
  }

  // Waits for a Redis operation run on another thread, pumping the tabs meanwhile.
  template <typename T>
  T pump_while(std::future<T>& f, std::chrono::milliseconds limit) {
    tabs.pump_until([&] { return f.wait_for(0s) == std::future_status::ready; }, limit);
    REQUIRE(f.wait_for(0s) == std::future_status::ready);
    return f.get();
  }

  test::FaultCluster cluster;
  test::ChatRoomMembers tabs;
  std::vector<int> primaries;  // the Redis primaries at the start
};

// The end of every test: the cluster settled, every node serving and ready, the outcome per tab.
void finish(Scenario& s, const std::string& title) {
  s.tabs.pump(2s);
  s.check_every_node_serves();
  s.check_all_ready();
  CHECK_MESSAGE(s.tabs.settle(), "the tabs did not all reach the end of the room");
  s.tabs.check_outcome(title);
  // A failover nobody caused (a node too slow to answer within cluster-node-timeout) is worth knowing of.
  MESSAGE(fmt::format("{} [{}]: Redis primaries at the start {}, at the end {}", title, test::backend_name(),
                      fmt::join(s.primaries, ","), fmt::join(s.cluster.redis().primaries(), ",")));
  MESSAGE(fmt::format("{} [{}]: probe round trips per node and shard:{}", title, test::backend_name(), s.probe_round_trips()));
}

}  // namespace

TEST_SUITE("faults") {

TEST_CASE("faults: a chat node killed (-9) while every node publishes — its tabs resume on the others from their "
          "position, its user leaves the room within presence's bound, the others need no restart") {
  if (!test::require_redis()) return;
  Scenario s;
  const size_t dave = s.tabs.members().size();
  s.tabs.add("dave", 2, false);  // only on the node that dies: presence must let him go
  s.start_publishing();

  const Clock::time_point killed = Clock::now();
  s.cluster.kill_chat(2);
  s.tabs.drop(dave);  // a tab that does not come back
  s.tabs.pump(200ms);
  CHECK_MESSAGE(s.tabs.pump_until([&] { return s.all_in_room(); }, 15s), "tabs of the killed node did not all come back");
  const Scenario::Resumed moved = s.resumed_after(killed);
  CHECK(moved.tabs == 3);
  const auto dave_left = [&] {
    for (const auto& p : s.tabs.presence()) {
      if (p.user == "dave" && !p.joined) return true;
    }
    return false;
  };
  // docs/cluster.md: a node that dies stops counting within 10 s (its entries expire), and its users
  // are announced gone at the next presence call of another node (a refresh: every 3 s).
  const bool left = s.tabs.pump_until(dave_left, 13s);
  CHECK_MESSAGE(left, "dave, on the killed node only, was never announced as gone");
  double left_after = -1;
  for (const auto& p : s.tabs.presence()) {
    if (p.user == "dave" && !p.joined) left_after = ms_between(killed, p.at);
  }
  MESSAGE(fmt::format("chat node kill [{}]: {} tabs moved, the last resumed {:.0f} ms after the kill; dave left the "
                      "member list {:.0f} ms after it",
                      test::backend_name(), moved.tabs, ms_between(killed, moved.last), left_after));
  finish(s, "chat node kill");
  // A fresh tab's member list has everybody still there, and not dave.
  ChatConnection check(s.cluster.address(0), test::FaultCluster::kChatPort,
                       fmt::format("/ws?otp={}&room={}", test::otp_for(s.cluster.address(0), test::FaultCluster::kChatPort, "alice"), kRoom));
  const ChatJson in = check.next_of("room_changed");
  CHECK(ChatJson::strings(in.payload()["members"]) == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("faults: a chat node drained for a rolling restart (SIGTERM, --drain-window 2) while every node publishes — "
          "its tabs are closed with 1001 spread over the window and resume on the others from their position, its GET "
          "/ready is 503 from the start, it refuses new connections and exits 0, the others stay ready") {
  if (!test::require_redis()) return;
  constexpr int drained = 2;
  constexpr auto window = 2s, grace = 3s;
  Scenario s({.metrics_listener = true,
              .chat_flags = {"--drain-window", std::to_string(window.count()), "--drain-grace", std::to_string(grace.count())}});
  s.start_publishing();
  const std::string drained_address = s.cluster.address(drained);

  // Every 50 ms until the drained node exits: its GET /ready (on its metrics listener: it closes its
  // main port), whether its main port takes a connection, and GET /ready of the others.
  std::unique_ptr<test::ServerProcess> node;
  std::optional<int> status;
  std::optional<Clock::time_point> unready_at, refused_at;
  int ready_during_drain = 0, accepted_after_refusal = 0, others_unready = 0;
  Clock::time_point next_sample;
  s.tabs.on_round([&] {
    if (!node || status || Clock::now() < next_sample) return;
    next_sample = Clock::now() + 50ms;
    if ((status = node->wait(test::deadline_in(0ms)))) return;
    const int ready = test::get(drained_address, test::FaultCluster::kMetricsPort, "/ready").status;
    if (ready == 503 && !unready_at) unready_at = Clock::now();
    if (ready == 200 && unready_at) ++ready_during_drain;
    const int fd = test::connect_blocking(drained_address, test::FaultCluster::kChatPort);
    if (fd >= 0) {
      ::close(fd);
      if (refused_at) ++accepted_after_refusal;
    } else if (!refused_at) {
      refused_at = Clock::now();
    }
    for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
      if (n != drained && test::get(s.cluster.address(n), test::FaultCluster::kChatPort, "/ready").status != 200) ++others_unready;
    }
  });

  const Clock::time_point sigterm = Clock::now();
  node = s.cluster.drain_chat(drained);
  CHECK_MESSAGE(s.tabs.pump_until([&] { return status.has_value() && s.all_in_room(); }, window + grace + 5s),
                "the drained node did not exit, or its tabs did not all come back: ", node->output());
  s.tabs.on_round({});
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  REQUIRE_MESSAGE(unready_at.has_value(), "GET /ready of the drained node never answered 503");
  CHECK_MESSAGE(*unready_at - sigterm < 500ms, "GET /ready answered 503 only ", ms_between(sigterm, *unready_at), " ms after SIGTERM");
  CHECK(ready_during_drain == 0);
  REQUIRE_MESSAGE(refused_at.has_value(), "the drained node's port took connections until it exited");
  CHECK_MESSAGE(*refused_at - sigterm < 500ms, "connections refused only ", ms_between(sigterm, *refused_at), " ms after SIGTERM");
  CHECK(accepted_after_refusal == 0);
  CHECK_MESSAGE(others_unready == 0, others_unready, " GET /ready of the other nodes during the drain were not 200");

  // Its tabs: each closed once, with 1001, the closes spread over the window (not all at once).
  std::vector<double> closed_ms;
  for (auto& m : s.tabs.members()) {
    if (m->first_node != drained) continue;
    REQUIRE_MESSAGE(m->closes.size() == 1, m->user, "@", drained, " closed ", m->closes.size(), " times");
    CHECK_MESSAGE(m->closes[0].second == 1001, m->user, "@", drained, " closed with ", m->closes[0].second);
    closed_ms.push_back(ms_between(sigterm, m->closes[0].first));
  }
  std::sort(closed_ms.begin(), closed_ms.end());
  REQUIRE(closed_ms.size() == 3);
  CHECK(closed_ms.back() - closed_ms.front() >= 500);  // spread: a quarter of the window apart at least
  CHECK(closed_ms.back() <= std::chrono::duration<double, std::milli>(window + grace).count());
  const Scenario::Resumed moved = s.resumed_after(sigterm);
  CHECK(moved.tabs == 3);
  MESSAGE(fmt::format("chat node drain, window {} s [{}]: GET /ready 503 {:.0f} ms and connections refused {:.0f} ms "
                      "after SIGTERM; {} tabs closed with 1001 at {:.0f} ms after it (spread {:.0f} ms), the last "
                      "resumed on another node {:.0f} ms after it; exit status {}",
                      window.count(), test::backend_name(), ms_between(sigterm, *unready_at), ms_between(sigterm, *refused_at),
                      closed_ms.size(), fmt::join(closed_ms, ", "), closed_ms.back() - closed_ms.front(),
                      ms_between(sigterm, moved.last), *status));
  finish(s, "chat node drain");
}

TEST_CASE("faults: the room's Redis primary killed (-9) while every node publishes — its replica takes over, every "
          "tab gets every acknowledged message once in one order or is told it cannot") {
  if (!test::require_redis()) return;
  Scenario s;
  const int primary = s.start_publishing();

  const Clock::time_point killed = Clock::now();
  s.cluster.redis().kill(static_cast<size_t>(primary));
  auto failover = std::async(std::launch::async, [&] { return s.cluster.redis().wait_for_failover(primary, 25s); });
  const int promoted = s.pump_while(failover, 30s);
  const Clock::time_point promoted_at = Clock::now();
  REQUIRE_MESSAGE(promoted >= 0, "no replica took over:\n", s.cluster.redis().describe());
  s.tabs.pump(3s);
  MESSAGE(fmt::format("redis primary kill [{}]: node {} killed, replica {} serving its slots {:.0f} ms later; {}",
                      test::backend_name(), primary, promoted, ms_between(killed, promoted_at), s.deliveries_after(killed)));
  finish(s, "redis primary kill");
}

TEST_CASE("faults: the room's Redis primary stopped 5 s (SIGSTOP, then SIGCONT) while every node publishes — its "
          "replica takes over; when it resumes it runs the appends that waited in its sockets and publishes them with "
          "its older term, which every node drops: every tab gets every message of the room's one log, none is told "
          "recovered: false") {
  if (!test::require_redis()) return;
  Scenario s;
  const int primary = s.start_publishing();

  const Clock::time_point stopped = Clock::now();
  s.cluster.redis().pause(static_cast<size_t>(primary));
  s.tabs.pump(5s);
  s.cluster.redis().resume(static_cast<size_t>(primary));
  const Clock::time_point resumed = Clock::now();
  auto settled = std::async(std::launch::async, [&] { return s.cluster.redis().wait_until_stable(30s); });
  REQUIRE_MESSAGE(s.pump_while(settled, 35s), "the Redis Cluster did not settle:\n", s.cluster.redis().describe());
  const int now_primary = s.cluster.primary_of_chat_room(kRoom);
  s.tabs.pump(2s);
  uint64_t stale = 0;
  for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) stale += s.cluster.metric(n, "durable_stale_total");
  MESSAGE(fmt::format("redis primary SIGSTOP 5 s [{}]: node {} stopped, SIGCONT {:.0f} ms later, the room's primary after "
                      "it node {}; {}; messages of the resumed primary's older term dropped by the chat nodes: {}",
                      test::backend_name(), primary, ms_between(stopped, resumed), now_primary, s.deliveries_after(stopped),
                      stale));
  finish(s, "redis primary SIGSTOP");
  CHECK_MESSAGE(s.tabs.told_not_recovered() == 0, s.tabs.told_not_recovered(),
                " tabs were told recovered: false: the room's log started over");
}

TEST_CASE("faults: a chat node's cable pulled 5 s while every node publishes — its GET /ready turns false within a "
          "probe interval and timeout and true again once the cable is back, its tabs recover every message that went "
          "by (the room keeps 1000), its live room counts what it missed") {
  if (!test::require_redis()) return;
  Scenario s({.echo = true});
  constexpr int cut = 1;

  // Live rooms (ringcast-echo, /room/live): a member on every node, the ones off the cut node publishing.
  std::vector<std::unique_ptr<test::RawWsClient>> live;
  for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
    live.push_back(std::make_unique<test::RawWsClient>(s.cluster.address(n), test::FaultCluster::kEchoPort));
    REQUIRE(live.back()->handshake("/room/live"));
  }
  uint64_t live_sent = 0;
  Clock::time_point next_live = Clock::now();
  s.tabs.on_round([&] {
    for (auto& c : live) {
      test::RawFrame f;
      while (c->read_frame(f, 0) == test::ReadStatus::frame) {
      }
    }
    if (Clock::now() < next_live) return;
    next_live += 40ms;
    for (int n = 0; n < test::FaultCluster::kChatNodes; ++n) {
      if (n != cut) live[static_cast<size_t>(n)]->send_text(fmt::format("live {} from {}", ++live_sent, n));
    }
  });

  // GET /ready of the cut node, asked from inside its namespace every 20 ms.
  struct Sample {
    Clock::time_point at;
    bool ready;
  };
  std::mutex samples_mutex;
  std::vector<Sample> samples;
  std::atomic<bool> polling{true};
  std::atomic<bool> entered{false};
  std::thread poller([&] {
    entered = s.cluster.lab().enter(s.cluster.host(cut));
    while (entered && polling) {
      const bool ready = s.cluster.ready_from_inside(cut);
      {
        std::lock_guard lock(samples_mutex);
        samples.push_back({Clock::now(), ready});
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto first_sample = [&](Clock::time_point after, bool ready) -> std::optional<Clock::time_point> {
    std::lock_guard lock(samples_mutex);
    for (const Sample& x : samples) {
      if (x.at >= after && x.ready == ready) return x.at;
    }
    return std::nullopt;
  };

  s.start_publishing();
  REQUIRE(entered);
  CHECK(first_sample(Clock::now() - 1s, true).has_value());
  const uint64_t lost_before = s.cluster.metric(cut, "broker_lost_total", test::FaultCluster::kEchoPort);

  const Clock::time_point cut_at = Clock::now();
  s.cluster.lab().link_down(s.cluster.host(cut));
  s.tabs.pump(5s);
  s.cluster.lab().link_up(s.cluster.host(cut));
  const Clock::time_point back_at = Clock::now();
  const auto unready = first_sample(cut_at, false);
  const bool ready_again = s.tabs.pump_until([&] { return first_sample(back_at, true).has_value(); }, 20s);
  const auto ready_at = first_sample(back_at, true);
  s.tabs.pump(3s);  // the live publishers go on: the cut node sees the gap in their numbering
  polling = false;
  poller.join();

  const auto bound = test::FaultCluster::kProbeInterval + test::FaultCluster::kProbeTimeout;
  REQUIRE_MESSAGE(unready.has_value(), "GET /ready of the cut node never turned false");
  CHECK_MESSAGE(*unready - cut_at <= bound + 300ms, "GET /ready turned false ", ms_between(cut_at, *unready),
                " ms after the cut, beyond the probe interval and timeout (", bound.count(), " ms)");
  CHECK_MESSAGE(ready_again, "GET /ready of the cut node never turned true again");
  const uint64_t lost = s.cluster.metric(cut, "broker_lost_total", test::FaultCluster::kEchoPort) - lost_before;
  MESSAGE(fmt::format("cable pulled 5 s [{}]: GET /ready false {:.0f} ms after the cut (bound {} ms), true again {:.0f} ms "
                      "after the cable was back; live room: {} messages published elsewhere, {} counted lost by the cut "
                      "node (broker_lost_total)",
                      test::backend_name(), ms_between(cut_at, *unready), bound.count(),
                      ready_at ? ms_between(back_at, *ready_at) : -1.0, live_sent, lost));
  CHECK_MESSAGE(lost > 0, "the cut node's broker_lost_total did not count the live messages it missed");
  s.tabs.on_round({});
  finish(s, "cable pulled");
  // The room keeps 1000 messages (--history): the cut node's tabs, 375 behind, recover what went by.
  CHECK_MESSAGE(s.tabs.told_not_recovered() == 0, s.tabs.told_not_recovered(), " tabs were told recovered: false");
}


TEST_CASE("faults: the network lab — hosts reach each other and the test, a pulled cable leaves a host reaching only "
          "itself, teardown kills what still runs on the hosts and removes them, and a dead test's lab is removed") {
  if (!test::require_redis()) return;
  // What a test that died without its teardown leaves: a namespace named for a pid that has ended.
  test::ChildProcess ended({"/bin/true"});
  const pid_t dead = ended.pid();
  REQUIRE(ended.wait(test::deadline_in(5s)).has_value());
  std::string out;
  REQUIRE(test::run_command(fmt::format("ip netns add rc{}-0", dead), out) == 0);

  std::optional<test::ChildProcess> sleeper;  // outlives the lab: its teardown must end it
  {
    test::NetworkLab lab;
    out.clear();
    CHECK(test::run_command("ip netns list", out) == 0);
    CHECK_MESSAGE(out.find(fmt::format("rc{}-0", dead)) == std::string::npos, out);
    const size_t a = lab.add_host(), b = lab.add_host();
    test::RedisServer redis({}, {}, {}, {lab.address(a), 6379, lab.launcher(a)});  // up: it answered PING
    CHECK(redis.command({"PING"}).text == "PONG");  // from the test's namespace
    bool from_b = false, from_a = false;
    std::thread([&] { from_b = lab.enter(b) && redis.command({"PING"}).text == "PONG"; }).join();
    CHECK(from_b);
    lab.link_down(a);
    std::thread([&] { from_a = lab.enter(a) && redis.command({"PING"}).text == "PONG"; }).join();
    CHECK(from_a);  // cut off, it still reaches itself
    lab.link_up(a);
    CHECK(test::eventually([&] { return redis.command({"PING"}, 1000).text == "PONG"; }, 10s));
    std::vector<std::string> argv = lab.launcher(b);
    argv.insert(argv.end(), {"/bin/sleep", "600"});
    sleeper.emplace(argv);
  }
  CHECK(sleeper->wait(test::deadline_in(5s)).has_value());
  out.clear();
  CHECK(test::run_command("ip netns list; ip -o link show", out) == 0);
  CHECK_MESSAGE(out.find(fmt::format("rc{}", ::getpid())) == std::string::npos, out);
}

}  // TEST_SUITE
