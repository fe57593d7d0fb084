// The Redis Cluster fixture the cluster tests stand on (tests/support/redis_fixture.hpp): a 3×1
// cluster comes up with every slot served, keys land where Redis says, a slot moves by steps (ASK
// while it moves, MOVED after), and a killed primary's replica takes over. Times are printed.
#include <doctest/doctest.h>

#include <chrono>

#include "tests/support/redis_fixture.hpp"

using namespace ringcast;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("redis fixture: a 3x1 cluster comes up, a slot moves with ASK then MOVED, a killed primary's replica takes over") {
  if (!test::require_redis()) return;
  const auto t0 = Clock::now();
  test::RedisCluster cluster;
  MESSAGE("3x1 cluster up and stable in " << seconds_since(t0) << " s");
  REQUIRE(cluster.size() == 6);
  const std::vector<int> primaries = cluster.primaries();
  REQUIRE(primaries.size() == 3);
  for (int p : primaries) CHECK(cluster.replicas_of(p).size() == 1);

  // Each primary takes its own keys and sends the others to their owner.
  for (int p : primaries) {
    const std::string key = cluster.key_on(p, ":k");
    CHECK(cluster.command(static_cast<size_t>(p), {"SET", key, "v"}).text == "OK");
    const int other = primaries[(static_cast<size_t>(std::find(primaries.begin(), primaries.end(), p) - primaries.begin()) + 1) % 3];
    const test::RedisReply moved = cluster.command(static_cast<size_t>(other), {"GET", key});
    CHECK(moved.text == fmt::format("MOVED {} 127.0.0.1:{}", cluster.slot_of(key), cluster.port(static_cast<size_t>(p))));
  }

  // A slot by steps: while it moves, a key already moved is answered with ASK; then MOVED.
  const int from = primaries[0], to = primaries[1];
  const std::string stays = cluster.key_on(from, ":stays"), goes = "{" + stays.substr(1, stays.find('}') - 1) + "}:goes";
  const int slot = cluster.slot_of(stays);
  REQUIRE(cluster.slot_of(goes) == slot);
  CHECK(cluster.command(static_cast<size_t>(from), {"SET", stays, "1"}).text == "OK");
  CHECK(cluster.command(static_cast<size_t>(from), {"SET", goes, "2"}).text == "OK");
  cluster.begin_migration(slot, from, to);
  cluster.migrate_keys(from, to, {goes});
  CHECK(cluster.command(static_cast<size_t>(from), {"GET", stays}).text == "1");
  CHECK(cluster.command(static_cast<size_t>(from), {"GET", goes}).text ==
        fmt::format("ASK {} 127.0.0.1:{}", slot, cluster.port(static_cast<size_t>(to))));
  cluster.migrate_all_keys(slot, from, to);
  cluster.finish_migration(slot, to);
  CHECK(cluster.primary_of(slot) == to);
  CHECK(cluster.command(static_cast<size_t>(from), {"GET", stays}).text ==
        fmt::format("MOVED {} 127.0.0.1:{}", slot, cluster.port(static_cast<size_t>(to))));
  CHECK(cluster.command(static_cast<size_t>(to), {"GET", stays}).text == "1");

  // kill -9 a primary: its replica serves its slots within a few node timeouts.
  const int victim = primaries[2];
  const int replica = cluster.replicas_of(victim)[0];
  const int victim_slot = cluster.slot_of(cluster.key_on(victim));
  const auto t1 = Clock::now();
  cluster.kill(static_cast<size_t>(victim));
  CHECK(cluster.wait_for_failover(victim) == replica);
  MESSAGE("failover after kill -9 took " << seconds_since(t1) << " s");
  CHECK(cluster.primary_of(victim_slot) == replica);

  // A paused replica is left out of the checks until it resumes.
  const int paused = cluster.replicas_of(primaries[0])[0];
  cluster.pause(static_cast<size_t>(paused));
  CHECK(cluster.stable());
  cluster.resume(static_cast<size_t>(paused));
  CHECK(cluster.wait_until_stable(std::chrono::seconds(10)));
}

