// RedisCluster against real Redis started by the tests: a single server (every slot its own;
// commands, EVALSHA with NOSCRIPT, sharded pub/sub, a restart under subscriptions), a 3×1 cluster
// (keys and channels on every node; MOVED after a slot moved, ASK while it moves, the pushed
// sunsubscribe of a moved slot followed and announced), a 3×1 cluster over TLS with a password
// (a paused primary's commands end as unknown, a killed one is replaced, commands succeed again and
// subscriptions are restored with the notice), a fake node whose MOVED answers come one by one
// (commands of one slot keep their order), and a fake node that goes deaf — it answers PING and
// SPUBLISH but delivers nothing — found by the probes. Runs on every backend (suite "io").
#include <ringcast/net/redis/redis_cluster.hpp>

#include <doctest/doctest.h>

#include <future>
#include <mutex>
#include <set>

#include <ringcast/net/redis/key_slot.hpp>
#include <ringcast/net/redis/redis_script.hpp>
#include "tests/support/fake_redis.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/shard_rig.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  RedisOutcome outcome = RedisOutcome::not_sent;
  test::RedisReply reply;  // when replied
  bool ok() const { return outcome == RedisOutcome::replied && !reply.is_error(); }
};

Result copy(const RedisReply& r) {
  return Result{r.outcome(), r.replied() ? test::RedisReply::copy(r.parser(), r.value()) : test::RedisReply{}};
}

// A RedisCluster on the rig's shard; its events and replies are read by the test's thread.
class ClusterProbe {
 public:
  ClusterProbe(test::ShardRig& rig, RedisClusterOptions options) : rig_(rig) {
    rig_.run([&] {
      cluster_ = std::make_unique<RedisCluster>(
          rig_.loop(), std::move(options),
          RedisCluster::Events{
              .on_message =
                  [this](std::string_view channel, std::string_view message) {
                    std::lock_guard lock(m_);
                    messages_.emplace_back(channel, message);
                  },
              .on_subscribed =
                  [this](std::string_view channel) {
                    std::lock_guard lock(m_);
                    subscribed_.emplace_back(channel);
                  },
              .on_resubscribed =
                  [this](std::string_view channel) {
                    std::lock_guard lock(m_);
                    resubscribed_.emplace_back(channel);
                  },
          });
      cluster_->start();
    });
  }
  ~ClusterProbe() {
    rig_.run([&] {
      cluster_->stop();
      cluster_.reset();
    });
  }

  // Issues a command on the shard; its result comes through the future.
  std::future<Result> start(const std::string& key, std::vector<std::string> args) {
    auto done = std::make_shared<std::promise<Result>>();
    auto result = done->get_future();
    rig_.run([&] {
      std::vector<std::string_view> views(args.begin(), args.end());
      cluster_->command(key, views, [done](const RedisReply& r) { done->set_value(copy(r)); });
    });
    return result;
  }
  Result call(const std::string& key, std::vector<std::string> args) {
    auto f = start(key, std::move(args));
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    return f.get();
  }
  Result eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args) {
    auto done = std::make_shared<std::promise<Result>>();
    auto result = done->get_future();
    rig_.run([&] {
      std::vector<std::string_view> k(keys.begin(), keys.end()), a(args.begin(), args.end());
      cluster_->eval(script, k, a, [done](const RedisReply& r) { done->set_value(copy(r)); });
    });
    REQUIRE(result.wait_for(20s) == std::future_status::ready);
    return result.get();
  }
  void ssubscribe(const std::string& channel) {
    rig_.run([&] { cluster_->ssubscribe(channel); });
  }
  void sunsubscribe(const std::string& channel) {
    rig_.run([&] { cluster_->sunsubscribe(channel); });
  }
  // Runs fn(cluster) on the shard and returns what it returns.
  template <typename Fn>
  auto on_shard(Fn fn) {
    return rig_.run([&] { return fn(*cluster_); });
  }
  uint64_t stat(Counter RedisClusterStats::*which) {
    return on_shard([&](RedisCluster& c) { return (c.stats().*which).get(); });
  }

  bool got(const std::string& channel, const std::string& message) {
    std::lock_guard lock(m_);
    return std::find(messages_.begin(), messages_.end(), std::pair(channel, message)) != messages_.end();
  }
  size_t count(const std::vector<std::string>& list, const std::string& channel) {
    std::lock_guard lock(m_);
    return static_cast<size_t>(std::count(list.begin(), list.end(), channel));
  }
  size_t subscribed(const std::string& channel) { return count(subscribed_, channel); }
  size_t resubscribed(const std::string& channel) { return count(resubscribed_, channel); }

 private:
  test::ShardRig& rig_;
  std::unique_ptr<RedisCluster> cluster_;
  std::mutex m_;
  std::vector<std::pair<std::string, std::string>> messages_;
  std::vector<std::string> subscribed_, resubscribed_;
};

RedisClusterOptions options_for(const std::string& url, std::chrono::milliseconds timeout = 4000ms) {
  std::string error;
  auto seed = RedisEndpoint::parse(url, error);
  REQUIRE_MESSAGE(seed, error);
  return RedisClusterOptions{.seed = *seed, .timeout = timeout, .min_backoff = 20ms, .max_backoff = 200ms};
}

std::string address_of(uint16_t port) { return fmt::format("127.0.0.1:{}", port); }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A single "Redis" (cluster support disabled) that serves any number of connections and answers
// SSUBSCRIBE, SUNSUBSCRIBE, PING and SPUBLISH like one — except that while `deliver` is false a
// publish is answered (one receiver) but reaches nobody: the subscription a failover left for dead
// while the node goes on answering. Serves on its own thread.
class DeafRedis {
 public:
  DeafRedis() {
    listen_fd_ = test::listen_loopback(port_);
    REQUIRE(listen_fd_ >= 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~DeafRedis() {
    stop_.store(true);
    thread_.join();
    for (Peer& p : peers_) ::close(p.fd);
    ::close(listen_fd_);
  }
  uint16_t port() const noexcept { return port_; }
  std::atomic<bool> deliver{true};
  std::atomic<int> accepted{0};

 private:
  struct Peer {
    int fd;
    std::string in;
    std::set<std::string> channels;
  };

  void serve() {
    while (!stop_.load()) {
      std::vector<pollfd> fds{{.fd = listen_fd_, .events = POLLIN, .revents = 0}};
      for (const Peer& p : peers_) fds.push_back({.fd = p.fd, .events = POLLIN, .revents = 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          peers_.push_back(Peer{fd, {}, {}});
          accepted.fetch_add(1);
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[16384];
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        auto it = std::find_if(peers_.begin(), peers_.end(), [&](const Peer& p) { return p.fd == fds[i].fd; });
        if (n <= 0) {
          ::close(it->fd);
          peers_.erase(it);
          continue;
        }
        it->in.append(buf, static_cast<size_t>(n));
        answer(*it);
      }
    }
  }

  void answer(Peer& p) {
    RespParser parser;
    while (!p.in.empty() && parser.parse(p.in) == RespParser::Status::complete) {
      std::vector<std::string> args;
      const RespValue& v = parser.root();
      for (int64_t i = 0; v.type == RespType::array && i < v.integer; ++i) {
        args.emplace_back(parser.child(v, static_cast<size_t>(i)).text);
      }
      p.in.erase(0, parser.consumed());
      parser = RespParser();
      std::string reply;
      if (args.empty()) continue;
      if (args[0] == "CLUSTER") {
        reply = "-ERR This instance has cluster support disabled\r\n";
      } else if (args[0] == "SSUBSCRIBE" || args[0] == "SUNSUBSCRIBE") {
        const bool on = args[0] == "SSUBSCRIBE";
        on ? (void)p.channels.insert(args[1]) : (void)p.channels.erase(args[1]);
        reply = fmt::format("*3\r\n${}\r\n{}\r\n${}\r\n{}\r\n:{}\r\n", on ? 10 : 12, on ? "ssubscribe" : "sunsubscribe",
                            args[1].size(), args[1], p.channels.size());
      } else if (args[0] == "PING") {
        reply = p.channels.empty() ? "+PONG\r\n" : "*2\r\n$4\r\npong\r\n$0\r\n\r\n";
      } else if (args[0] == "SPUBLISH") {
        reply = ":1\r\n";
        const std::string push = fmt::format("*3\r\n$8\r\nsmessage\r\n${}\r\n{}\r\n${}\r\n{}\r\n", args[1].size(),
                                             args[1], args[2].size(), args[2]);
        for (Peer& other : peers_) {
          if (deliver.load() && other.channels.count(args[1])) ::send(other.fd, push.data(), push.size(), MSG_NOSIGNAL);
        }
      } else {
        reply = "-ERR unknown command\r\n";
      }
      ::send(p.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
  }

  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<Peer> peers_;  // the fake's thread only
  std::thread thread_;
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("redis cluster: on a single Redis every slot is the server's; commands, EVALSHA and sharded pub/sub work, and survive a restart") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  test::ShardRig rig;
  ClusterProbe probe(rig, options_for(redis.url()));
  REQUIRE(test::eventually([&] { return probe.on_shard([](RedisCluster& c) { return c.standalone(); }); }, 10s));
  CHECK(probe.on_shard([](RedisCluster& c) { return c.node_of(12345).to_string(); }) == address_of(redis.port()));

  CHECK(probe.call("greeting", {"SET", "greeting", "hello"}).ok());
  CHECK(probe.call("greeting", {"GET", "greeting"}).reply.text == "hello");
  // Pipelined: 500 commands issued at once come back in order.
  std::vector<std::future<Result>> pending;
  for (int i = 0; i < 500; ++i) pending.push_back(probe.start("counter", {"INCR", "counter"}));
  for (int i = 0; i < 500; ++i) {
    REQUIRE(pending[static_cast<size_t>(i)].wait_for(10s) == std::future_status::ready);
    CHECK(pending[static_cast<size_t>(i)].get().reply.integer == i + 1);
  }
  const Result wrong = probe.call("greeting", {"INCR", "greeting"});
  CHECK(wrong.outcome == RedisOutcome::replied);
  CHECK(wrong.reply.is_error());

  // EVALSHA: unknown to the server at first (NOSCRIPT, then EVAL), and again after SCRIPT FLUSH.
  static const RedisScript script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
  for (int round = 1; round <= 3; ++round) {
    const Result r = probe.eval(script, {"{s}:n"}, {"arg"});
    REQUIRE(r.ok());
    REQUIRE(r.reply.elements.size() == 3);
    CHECK(r.reply.elements[0].text == "{s}:n");
    CHECK(r.reply.elements[1].text == "arg");
    CHECK(r.reply.elements[2].integer == round);
    if (round == 2) CHECK(redis.command({"SCRIPT", "FLUSH"}).text == "OK");
  }
  CHECK(redis.command({"SCRIPT", "EXISTS", std::string(script.sha1())}).elements[0].integer == 1);

  // Sharded pub/sub on a single Redis 7.
  probe.ssubscribe("room:{lobby}");
  REQUIRE(test::eventually([&] { return probe.subscribed("room:{lobby}") == 1; }, 10s));
  CHECK(redis.command({"SPUBLISH", "room:{lobby}", "first"}).integer == 1);
  CHECK(test::eventually([&] { return probe.got("room:{lobby}", "first"); }, 10s));

  // Restarted (empty): the subscription is made again and announced; commands work again.
  redis.kill();
  const Result down = probe.call("greeting", {"GET", "greeting"});
  CHECK(down.outcome != RedisOutcome::replied);
  redis.start();
  REQUIRE(test::eventually([&] { return probe.resubscribed("room:{lobby}") == 1; }, 20s));
  CHECK(probe.subscribed("room:{lobby}") == 1);  // on_subscribed came once
  CHECK(redis.command({"SPUBLISH", "room:{lobby}", "second"}).integer == 1);
  CHECK(test::eventually([&] { return probe.got("room:{lobby}", "second"); }, 10s));
  CHECK(test::eventually([&] { return probe.call("greeting", {"SET", "greeting", "again"}).ok(); }, 10s));
  probe.sunsubscribe("room:{lobby}");
  CHECK(test::eventually([&] { return redis.command({"PUBSUB", "SHARDNUMSUB", "room:{lobby}"}).elements[1].integer == 0; }, 10s));
}

TEST_CASE("redis cluster: keys and channels on every node of a 3x1 cluster; MOVED after a slot moved, ASK while it moves") {
  if (!test::require_redis()) return;
  const auto t0 = Clock::now();
  test::RedisCluster cluster;
  const double up = seconds_since(t0);
  test::ShardRig rig;
  RedisClusterOptions options = options_for(cluster.seed_url());
  options.refresh_interval = 60s;  // so that it is MOVED, not a periodic refresh, that tells of a move
  ClusterProbe probe(rig, options);
  REQUIRE(test::eventually([&] { return probe.stat(&RedisClusterStats::nodes) == 3; }, 10s));
  CHECK_FALSE(probe.on_shard([](RedisCluster& c) { return c.standalone(); }));
  const std::vector<int> primaries = cluster.primaries();
  REQUIRE(primaries.size() == 3);

  // Keys of every node go straight to it (no redirection), pipelined and answered in order.
  std::vector<std::future<Result>> pending;
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    const int p = primaries[static_cast<size_t>(i % 3)];
    keys.push_back(cluster.key_on(p, ":route", i / 3 % 5));
    pending.push_back(probe.start(keys.back(), {"RPUSH", keys.back(), std::to_string(i)}));
  }
  for (auto& f : pending) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    CHECK(f.get().ok());
  }
  for (int p : primaries) {
    const std::string key = cluster.key_on(p, ":route");
    const test::RedisReply there = cluster.command(static_cast<size_t>(p), {"LRANGE", key, "0", "-1"});
    CHECK(there.elements.size() == 20);  // 300 / 3 nodes / 5 keys each, all on the node itself
    CHECK(probe.on_shard([&](RedisCluster& c) { return c.node_of(redis_key_slot(key)).to_string(); }) ==
          address_of(cluster.port(static_cast<size_t>(p))));
  }
  CHECK(probe.stat(&RedisClusterStats::moved) == 0);

  // A channel on every node: subscribed there, and what is published there arrives.
  std::vector<std::string> channels;
  for (int p : primaries) channels.push_back(cluster.key_on(p, ":chan"));
  for (const auto& ch : channels) probe.ssubscribe(ch);
  REQUIRE(test::eventually([&] {
    return std::all_of(channels.begin(), channels.end(), [&](const std::string& ch) { return probe.subscribed(ch) == 1; });
  }, 10s));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(cluster.command(static_cast<size_t>(primaries[i]), {"SPUBLISH", channels[i], "to node " + std::to_string(i)}).integer == 1);
  }
  for (size_t i = 0; i < 3; ++i) CHECK(test::eventually([&] { return probe.got(channels[i], "to node " + std::to_string(i)); }, 10s));

  // MOVED: the slot of a key moves to another primary; the client, told by Redis, follows.
  const int a = primaries[0], b = primaries[1], c = primaries[2];
  const std::string moving = cluster.key_on(a, ":moving", 7);
  CHECK(probe.call(moving, {"SET", moving, "kept"}).ok());
  const uint16_t slot = redis_key_slot(moving);
  cluster.move_slot(slot, b);
  const Result moved = probe.call(moving, {"GET", moving});
  CHECK(moved.reply.text == "kept");
  CHECK(probe.stat(&RedisClusterStats::moved) >= 1);
  CHECK(probe.on_shard([&](RedisCluster& cl) { return cl.node_of(slot).to_string(); }) == address_of(cluster.port(static_cast<size_t>(b))));

  // The slot of channel 0 moves: its former node pushes sunsubscribe, and the channel is subscribed
  // at the new one and announced (more than once if Redis pushes again while the slot settles).
  cluster.move_slot(redis_key_slot(channels[0]), c);
  REQUIRE(test::eventually([&] { return probe.resubscribed(channels[0]) >= 1; }, 10s));
  CHECK(test::eventually([&] { return probe.on_shard([&](RedisCluster& cl) { return cl.subscribed(channels[0]); }); }, 10s));
  CHECK(cluster.command(static_cast<size_t>(c), {"SPUBLISH", channels[0], "after the move"}).integer == 1);
  CHECK(test::eventually([&] { return probe.got(channels[0], "after the move"); }, 10s));
  CHECK(probe.resubscribed(channels[1]) == 0);  // the others were never lost
  CHECK(probe.resubscribed(channels[2]) == 0);

  // ASK: while a slot of node c migrates to a, a key already moved is answered with ASK; the client
  // asks a (ASKING) and leaves its map alone. A new key of the slot goes to a the same way.
  const std::string asked = cluster.key_on(c, ":asked");
  const std::string sibling = asked + ":new";
  const uint16_t ask_slot = redis_key_slot(asked);
  CHECK(probe.call(asked, {"SET", asked, "far"}).ok());
  cluster.begin_migration(ask_slot, c, a);
  cluster.migrate_keys(c, a, {asked});
  const Result r = probe.call(asked, {"GET", asked});
  CHECK(r.reply.text == "far");
  CHECK(probe.stat(&RedisClusterStats::asked) >= 1);
  CHECK(probe.on_shard([&](RedisCluster& cl) { return cl.node_of(ask_slot).to_string(); }) == address_of(cluster.port(static_cast<size_t>(c))));
  CHECK(probe.call(sibling, {"SET", sibling, "new"}).ok());
  cluster.finish_migration(ask_slot, a);
  CHECK(cluster.command(static_cast<size_t>(a), {"GET", sibling}).text == "new");
  CHECK(probe.call(sibling, {"GET", sibling}).reply.text == "new");
  MESSAGE("3x1 cluster up in " << up << " s; the whole case took " << seconds_since(t0) << " s");
}

TEST_CASE("redis cluster: over TLS with a password, a paused primary's command ends as unknown; killed, its replica takes over: commands, scripts and subscriptions come back") {
  if (!test::require_redis()) return;
  const auto t0 = Clock::now();
  test::RedisCluster cluster({.redis = {.password = "cluster-secret", .tls = true}});
  test::ShardRig rig;
  ClusterProbe probe(rig, options_for(cluster.seed_url(), 1000ms));
  REQUIRE(test::eventually([&] { return probe.stat(&RedisClusterStats::nodes) == 3; }, 10s));
  const std::vector<int> primaries = cluster.primaries();
  const int victim = primaries[2];
  const std::string key = cluster.key_on(victim, ":survives");
  const std::string channel = cluster.key_on(victim, ":room");
  const std::string other = cluster.key_on(primaries[0], ":room");
  CHECK(probe.call(key, {"SET", key, "replicated"}).ok());
  CHECK(probe.call(key, {"WAIT", "1", "2000"}).reply.integer == 1);  // the replica has it
  static const RedisScript script("return redis.call('GET', KEYS[1])");
  CHECK(probe.eval(script, {key}, {}).reply.text == "replicated");
  probe.ssubscribe(channel);
  probe.ssubscribe(other);
  REQUIRE(test::eventually([&] { return probe.subscribed(channel) == 1 && probe.subscribed(other) == 1; }, 10s));

  // Paused: the command is written and never answered; after `timeout` it is unknown.
  cluster.pause(static_cast<size_t>(victim));
  const auto t1 = Clock::now();
  const Result stalled = probe.call(key, {"GET", key});
  CHECK(stalled.outcome == RedisOutcome::unknown);
  MESSAGE("a paused primary's command ended after " << seconds_since(t1) << " s");
  CHECK(probe.stat(&RedisClusterStats::timeouts) >= 1);

  // Killed: its replica is promoted; commands for its slots succeed again, the channel is
  // subscribed at the new primary and announced, the other channel is untouched.
  cluster.kill(static_cast<size_t>(victim));
  const auto t2 = Clock::now();
  const int promoted = cluster.wait_for_failover(victim);
  REQUIRE(promoted >= 0);
  const double failover = seconds_since(t2);
  REQUIRE(test::eventually([&] { return probe.call(key, {"GET", key}).reply.text == "replicated"; }, 20s));
  const double commands_back = seconds_since(t2);
  REQUIRE(test::eventually([&] { return probe.resubscribed(channel) == 1; }, 20s));
  const double subscriptions_back = seconds_since(t2);
  CHECK(probe.on_shard([&](RedisCluster& c) { return c.node_of(redis_key_slot(key)).to_string(); }) ==
        address_of(cluster.port(static_cast<size_t>(promoted))));
  CHECK(probe.eval(script, {key}, {}).reply.text == "replicated");  // the new primary runs the script too
  CHECK(cluster.command(static_cast<size_t>(promoted), {"SPUBLISH", channel, "from the new primary"}).integer == 1);
  CHECK(test::eventually([&] { return probe.got(channel, "from the new primary"); }, 10s));
  CHECK(probe.resubscribed(other) == 0);
  CHECK(cluster.command(static_cast<size_t>(primaries[0]), {"SPUBLISH", other, "still here"}).integer == 1);
  CHECK(test::eventually([&] { return probe.got(other, "still here"); }, 10s));
  MESSAGE("after kill -9: failover " << failover << " s, commands back " << commands_back << " s, subscription back "
                                     << subscriptions_back << " s; the whole case took " << seconds_since(t0) << " s");
}

TEST_CASE("redis cluster: commands of one slot keep their order across MOVED: later ones wait for those still at the former owner") {
  if (!test::require_redis()) return;
  // Node A (a fake) says it serves every slot and answers each command with MOVED to B (a real
  // Redis), one answer every 20 ms: the client learns of B from the first answer while nine more
  // commands are still at A. Commands issued meanwhile must not overtake them.
  test::RedisServer b;
  const uint16_t slot = redis_key_slot("{ordered}");
  test::FakeRedis a([&](int fd) {
    test::CommandReader reader(fd);
    for (;;) {
      const std::vector<std::string> args = reader.next(20s);
      if (args.empty()) return;
      std::string reply;
      if (args[0] == "CLUSTER") {  // SHARDS: A serves every slot
        reply = fmt::format("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*8\r\n"
                            "$4\r\nport\r\n:{}\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                            "$6\r\nhealth\r\n$6\r\nonline\r\n",
                            a.port());
      } else {
        std::this_thread::sleep_for(20ms);
        reply = fmt::format("-MOVED {} 127.0.0.1:{}\r\n", slot, b.port());
      }
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) <= 0) return;
    }
  });
  test::ShardRig rig;
  ClusterProbe probe(rig, options_for(fmt::format("redis://127.0.0.1:{}", a.port())));
  REQUIRE(test::eventually([&] { return probe.stat(&RedisClusterStats::refreshes) >= 1; }, 10s));
  const std::string list = "{ordered}:list";
  std::vector<std::future<Result>> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(probe.start(list, {"RPUSH", list, std::to_string(i)}));
  for (int i = 10; i < 30; ++i) {
    std::this_thread::sleep_for(10ms);
    pending.push_back(probe.start(list, {"RPUSH", list, std::to_string(i)}));
  }
  for (auto& f : pending) {
    REQUIRE(f.wait_for(20s) == std::future_status::ready);
    CHECK(f.get().ok());
  }
  const test::RedisReply stored = b.command({"LRANGE", list, "0", "-1"});
  REQUIRE(stored.elements.size() == 30);
  std::string order;
  for (const auto& e : stored.elements) order += e.text + " ";
  CAPTURE(order);
  for (int i = 0; i < 30; ++i) CHECK(stored.elements[static_cast<size_t>(i)].text == std::to_string(i));
  CHECK(probe.stat(&RedisClusterStats::moved) >= 2);  // fewer than 10 when the test issued them slower than A answered
}

TEST_CASE("redis cluster: probes come back through each subscriber connection and their round trip is recorded; one that answers PING but delivers nothing is dropped within the probe timeout and made again, and messages flow again") {
  DeafRedis redis;
  test::ShardRig rig;
  RedisClusterOptions o = options_for(fmt::format("redis://127.0.0.1:{}", redis.port()));
  o.probe_channel = "probe:test";
  o.probe_interval = 100ms;
  o.probe_timeout = 800ms;
  ClusterProbe c(rig, o);
  auto proven = [&] {
    return c.on_shard([](RedisCluster& r) {
      uint64_t late = 0;
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
      return RedisCluster::proven(r.stats(), static_cast<uint64_t>(now), late);
    });
  };
  // Nothing subscribed: nothing to prove, no probe.
  std::this_thread::sleep_for(300ms);
  CHECK(c.stat(&RedisClusterStats::probes_sent) == 0);
  CHECK(proven());

  c.ssubscribe("room");
  REQUIRE(test::eventually([&] { return c.subscribed("room") == 1; }, 5s));
  REQUIRE(test::eventually([&] { return c.stat(&RedisClusterStats::probes_received) >= 3; }, 5s));
  CHECK(c.stat(&RedisClusterStats::probe_round_trip_us) > 0);
  CHECK(c.stat(&RedisClusterStats::probe_round_trip_us) < 500'000);
  CHECK(c.stat(&RedisClusterStats::probes_lost) == 0);
  CHECK(c.stat(&RedisClusterStats::subscriptions) == 1);  // the probe channel is not one of the caller's
  CHECK(proven());
  CHECK(c.call("room", {"SPUBLISH", "room", "before"}).ok());
  CHECK(test::eventually([&] { return c.got("room", "before"); }, 5s));

  // The node goes deaf: PING is answered, publishes too, nothing is delivered.
  const int connections = redis.accepted.load();
  redis.deliver = false;
  const auto deaf = Clock::now();
  REQUIRE(test::eventually([&] { return c.stat(&RedisClusterStats::probe_reconnects) == 1; }, 5s));
  const double found = seconds_since(deaf);
  MESSAGE("a deaf subscriber connection was dropped after " << found << " s (probe timeout 0.8 s)");
  CHECK(found < 0.8 + 0.5);
  CHECK(c.stat(&RedisClusterStats::timeouts) == 0);  // PING never noticed
  CHECK(c.stat(&RedisClusterStats::probes_lost) >= 1);
  CHECK(c.stat(&RedisClusterStats::connections_lost) >= 1);
  CHECK(!proven());
  // Made again at once: a new connection, the channel subscribed again and announced.
  CHECK(test::eventually([&] { return redis.accepted.load() > connections && c.resubscribed("room") == 1; }, 5s));

  redis.deliver = true;
  CHECK(test::eventually([&] { return proven(); }, 5s));
  CHECK(c.call("room", {"SPUBLISH", "room", "after"}).ok());
  CHECK(test::eventually([&] { return c.got("room", "after"); }, 5s));
  CHECK(c.stat(&RedisClusterStats::probe_reconnects) == 1);

  // The last channel gone, so is the probe: nothing left to prove.
  c.sunsubscribe("room");
  const uint64_t sent = c.stat(&RedisClusterStats::probes_sent);
  std::this_thread::sleep_for(400ms);
  CHECK(c.stat(&RedisClusterStats::probes_sent) <= sent + 1);
  CHECK(proven());
}

}  // TEST_SUITE
