#include <doctest/doctest.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/core/shard.hpp>
#include "tests/support/test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

using test::eventually;

TEST_SUITE("shards") {

TEST_CASE("mesh: every shard sends to every other through tiny queues; all arrive, in order per pair") {
  constexpr unsigned kShards = 4;
  constexpr uint32_t kPerPair = 20'000;
  // received[to][from]: next sequence number expected; touched only by shard `to`.
  std::vector<std::vector<uint32_t>> next(kShards, std::vector<uint32_t>(kShards, 0));
  std::vector<uint64_t> out_of_order(kShards, 0);
  std::atomic<unsigned> complete{0};

  Runtime rt({.shards = {.count = kShards, .mesh_capacity = 2}, .on_start = [&](Shard& s) {
    for (uint32_t seq = 0; seq < kPerPair; ++seq) {
      for (unsigned to = 0; to < kShards; ++to) {
        if (to == s.id()) continue;
        const unsigned from = s.id();
        s.send_to(to, [&, from, seq](Shard& dst) {
          uint32_t& expected = next[dst.id()][from];
          if (seq != expected) ++out_of_order[dst.id()];
          expected = seq + 1;
          bool all = true;
          for (unsigned f = 0; f < kShards; ++f) {
            if (f != dst.id() && next[dst.id()][f] != kPerPair) all = false;
          }
          if (all) complete.fetch_add(1);
        });
      }
    }
  }});
  rt.start();
  REQUIRE(eventually([&] { return complete.load() == kShards; }));
  rt.stop();
  rt.join();
  for (unsigned s = 0; s < kShards; ++s) {
    CHECK(out_of_order[s] == 0);
    for (unsigned f = 0; f < kShards; ++f) {
      if (f != s) CHECK(next[s][f] == kPerPair);
    }
    CHECK(rt.shard(s).stats().mesh_backlogged.get() > 0);  // the tiny queues forced the backlog
    CHECK(rt.shard(s).stats().mesh_backlog_now.get() == 0);
    CHECK(rt.shard(s).stats().mesh_received.get() == kPerPair * (kShards - 1));
  }
}

TEST_CASE("mesh: ping-pong chains between two shards keep going with backlogs on both sides") {
  std::atomic<uint64_t> hops{0};
  constexpr uint64_t kHops = 200'000;
  struct Bounce {
    std::atomic<uint64_t>* hops;
    void operator()(Shard& s) const {
      if (hops->fetch_add(1) + 1 < kHops) s.send_to(1 - s.id(), Bounce{hops});
    }
  };
  Runtime rt({.shards = {.count = 2, .mesh_capacity = 2}, .on_start = [&](Shard& s) {
    for (int chain = 0; chain < 16; ++chain) s.send_to(1 - s.id(), Bounce{&hops});
  }});
  rt.start();
  REQUIRE(eventually([&] { return hops.load() >= kHops; }));
  rt.stop();
  rt.join();
}

TEST_CASE("mesh: a sleeping shard is woken by a send, and a shard is woken by post from any thread") {
  std::atomic<bool> ran{false};
  std::atomic<int64_t> ran_at{0};
  Runtime rt({.shards = {.count = 2}});
  rt.start();
  // Let shard 1 fall asleep: it has no timers and nothing to do.
  REQUIRE(eventually([&] { return rt.shard(1).stats().loop_sleeps.get() > 0; }));
  std::this_thread::sleep_for(50ms);
  const uint64_t sleeps_before = rt.shard(1).stats().loop_sleeps.get();
  const auto sent_at = std::chrono::steady_clock::now();
  rt.shard(0).post([&](Shard& s0) {
    s0.send_to(1, [&](Shard&) {
      ran_at = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent_at).count();
      ran = true;
    });
  });
  REQUIRE(eventually([&] { return ran.load(); }, 5s));
  CHECK(ran_at.load() < 1'000'000);  // woken, not found by a periodic poll
  CHECK(rt.shard(0).stats().wakeups_sent.get() >= 1);
  CHECK(sleeps_before >= 1);
  rt.stop();
  rt.join();
}

TEST_CASE("shard: timers fire on the loop, which sleeps until they are due") {
  struct Tick : Timer {
    std::atomic<int>* count;
    Shard* shard;
    int64_t armed_at_ns;
    std::atomic<int64_t>* first_delay_ns;
    Tick() : Timer(&fire) {}
    static void fire(Timer& t) {
      auto& self = static_cast<Tick&>(t);
      if (self.count->fetch_add(1) == 0) self.first_delay_ns->store(self.shard->now_ns() - self.armed_at_ns);
      if (self.count->load() < 10) self.shard->timers().schedule_in(self, 5);
    }
  };
  std::atomic<int> count{0};
  std::atomic<int64_t> first_delay{0};
  Tick tick;
  Runtime rt({.shards = {.count = 1}, .on_start = [&](Shard& s) {
    tick.count = &count;
    tick.shard = &s;
    tick.armed_at_ns = s.now_ns();
    tick.first_delay_ns = &first_delay;
    s.timers().schedule_in(tick, 30);
    s.on_stop([&] { s.timers().cancel(tick); });
  }});
  rt.start();
  REQUIRE(eventually([&] { return count.load() >= 10; }, 5s));
  CHECK(first_delay.load() >= 29'000'000);
  CHECK(first_delay.load() < 500'000'000);
  rt.stop();
  rt.join();
}

TEST_CASE("shard: a busy shard that shares its CPU offers it to the other thread; with no interval it never does") {
  struct Spin {  // keeps the loop from ever sleeping while `spin` is set
    std::atomic<bool>* spin;
    void operator()(Shard& s) const {
      if (spin->load(std::memory_order_relaxed)) s.defer(Spin{spin});
    }
  };
  auto yields_while_contended = [](std::chrono::microseconds interval) {
    std::atomic<bool> spin{true};
    Runtime rt({.shards = {.count = 1, .yield_interval = interval}, .on_start = [&](Shard& s) { s.defer(Spin{&spin}); }});
    rt.start();
    // A thread that never sleeps either, on the shard's CPU: the scheduler has to take turns.
    int pinned = -1;
    std::thread rival([cpu = rt.shard(0).cpu(), &pinned] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pinned = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      const auto end = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < end) {}
    });
    rival.join();
    REQUIRE(pinned == 0);  // otherwise the two need not share a CPU at all
    spin = false;
    rt.stop();
    rt.join();
    return rt.shard(0).stats().cpu_yields.get();
  };
  CHECK(yields_while_contended(200us) > 0);
  CHECK(yields_while_contended(0us) == 0);
}

TEST_CASE("runtime: stop runs every stop hook, and a held stop waits for its release") {
  std::atomic<int> hooks{0};
  std::atomic<bool> released{false};
  struct Release : Timer {
    Shard* shard;
    std::atomic<bool>* released;
    Release() : Timer(&fire) {}
    static void fire(Timer& t) {
      auto& self = static_cast<Release&>(t);
      self.released->store(true);
      self.shard->release_stop();
    }
  };
  Release release;
  Runtime rt({.shards = {.count = 2}, .on_start = [&](Shard& s) {
    s.on_stop([&] {
      hooks.fetch_add(1);
      if (s.id() == 1) {
        s.hold_stop();
        release.shard = &s;
        release.released = &released;
        s.timers().schedule_in(release, 50);
      }
    });
  }});
  rt.start();
  const auto t0 = std::chrono::steady_clock::now();
  rt.stop();
  rt.join();
  CHECK(hooks.load() == 2);
  CHECK(released.load());
  CHECK(std::chrono::steady_clock::now() - t0 >= 45ms);
}

TEST_CASE("runtime: SIGTERM stops every shard gracefully and run() returns 0") {
  std::atomic<int> hooks{0};
  Runtime rt({.shards = {.count = 2}, .on_start = [&](Shard& s) {
    s.on_stop([&] { hooks.fetch_add(1); });
    if (s.id() == 0) {
      // Signal the process from a thread that inherits the shard's blocked mask.
      std::thread([] {
        std::this_thread::sleep_for(100ms);
        ::kill(::getpid(), SIGTERM);
      }).detach();
    }
  }});
  CHECK(rt.run() == 0);
  CHECK(hooks.load() == 2);
}

}  // TEST_SUITE
