#include <ringcast/core/timer_wheel.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

using namespace ringcast;

namespace {

// A timer that records the wheel time at which it fired.
struct Probe : Timer {
  TimerWheel* wheel = nullptr;
  int fired = 0;
  uint64_t fired_at = 0;
  Probe() : Timer(&on_fire) {}
  static void on_fire(Timer& t) {
    auto& p = static_cast<Probe&>(t);
    ++p.fired;
    p.fired_at = p.wheel->now();
  }
};

}  // namespace

TEST_CASE("timer wheel: each timer fires on exactly its tick when time moves one tick at a time") {
  TimerWheel wheel(1000);
  const uint64_t delays[] = {0, 1, 2, 63, 64, 65, 127, 4095, 4096, 4097, 262143, 262144, 300000};
  std::vector<Probe> probes(std::size(delays));
  for (size_t i = 0; i < probes.size(); ++i) {
    probes[i].wheel = &wheel;
    wheel.schedule_in(probes[i], delays[i]);
  }
  CHECK(wheel.size() == probes.size());
  for (uint64_t t = 1000; t <= 1000 + 300001; ++t) wheel.advance(t);
  for (size_t i = 0; i < probes.size(); ++i) {
    CAPTURE(delays[i]);
    CHECK(probes[i].fired == 1);
    CHECK(probes[i].fired_at == 1000 + delays[i]);
  }
  CHECK(wheel.size() == 0);
}

TEST_CASE("timer wheel: a big jump fires everything due and nothing early") {
  TimerWheel wheel;
  std::vector<Probe> probes(200);
  for (size_t i = 0; i < probes.size(); ++i) {
    probes[i].wheel = &wheel;
    wheel.schedule_in(probes[i], i * 100);
  }
  wheel.advance(10'000);
  for (size_t i = 0; i < probes.size(); ++i) CHECK(probes[i].fired == (i * 100 <= 10'000 ? 1 : 0));
  wheel.advance(1'000'000);
  for (auto& p : probes) CHECK(p.fired == 1);
}

TEST_CASE("timer wheel: cancel disarms, re-scheduling moves, and cancel inside a callback works") {
  TimerWheel wheel;
  Probe a, b, c;
  a.wheel = b.wheel = c.wheel = &wheel;
  wheel.schedule_in(a, 10);
  wheel.schedule_in(b, 10);
  wheel.schedule_in(c, 5000);
  wheel.cancel(a);
  wheel.cancel(a);  // harmless twice
  CHECK_FALSE(a.armed());
  wheel.schedule_in(c, 20);  // re-arm earlier
  CHECK(wheel.size() == 2);
  wheel.advance(10);
  CHECK(a.fired == 0);
  CHECK(b.fired == 1);
  wheel.advance(20);
  CHECK(c.fired == 1);
  CHECK(c.fired_at == 20);

  // Two timers due on the same tick: the first to fire cancels the second.
  struct Canceller : Timer {
    TimerWheel* wheel;
    Timer* victim;
    Canceller(TimerWheel* w, Timer* v) : Timer(&fire), wheel(w), victim(v) {}
    static void fire(Timer& t) {
      auto& self = static_cast<Canceller&>(t);
      self.wheel->cancel(*self.victim);
    }
  };
  Probe victim;
  victim.wheel = &wheel;
  Canceller killer(&wheel, &victim);
  wheel.schedule_in(victim, 7);
  wheel.schedule_in(killer, 7);  // linked in front, so it fires first
  wheel.advance(wheel.now() + 7);
  CHECK(victim.fired == 0);
  CHECK(wheel.size() == 0);
}

TEST_CASE("timer wheel: a timer that re-arms itself with no delay fires once per advance") {
  struct Again : Timer {
    TimerWheel* wheel;
    int fired = 0;
    explicit Again(TimerWheel* w) : Timer(&fire), wheel(w) {}
    static void fire(Timer& t) {
      auto& self = static_cast<Again&>(t);
      ++self.fired;
      self.wheel->schedule_in(self, 0);
    }
  };
  TimerWheel wheel;
  Again again(&wheel);
  wheel.schedule_in(again, 0);
  wheel.advance(0);
  wheel.advance(0);
  CHECK(again.fired == 2);
  wheel.cancel(again);
}

TEST_CASE("timer wheel: 100,000 timers, sleeping until next_expiry fires each on its exact tick") {
  TimerWheel wheel(12345);
  std::mt19937_64 rng(42);
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<uint64_t> due;
  for (int i = 0; i < 100'000; ++i) {
    auto p = std::make_unique<Probe>();
    p->wheel = &wheel;
    // Mostly short timeouts, some long ones, across every level.
    const uint64_t delay = i % 10 == 0 ? rng() % 50'000'000 : rng() % 100'000;
    wheel.schedule_in(*p, delay);
    due.push_back(12345 + delay);
    probes.push_back(std::move(p));
  }
  // Cancel every seventh timer.
  for (size_t i = 0; i < probes.size(); i += 7) wheel.cancel(*probes[i]);

  size_t wakeups = 0;
  while (wheel.size() > 0) {
    const uint64_t next = wheel.next_expiry();
    REQUIRE(next != TimerWheel::kNever);
    REQUIRE(next >= wheel.now());
    wheel.advance(next);
    ++wakeups;
  }
  CHECK(wheel.next_expiry() == TimerWheel::kNever);
  size_t fired = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (i % 7 == 0) {
      CHECK(probes[i]->fired == 0);
      continue;
    }
    REQUIRE(probes[i]->fired == 1);
    if (probes[i]->fired_at != due[i]) FAIL_CHECK("timer fired at " << probes[i]->fired_at << ", due " << due[i]);
    ++fired;
  }
  CHECK(fired == probes.size() - (probes.size() + 6) / 7);
  // Cascades add wake-ups, but far fewer than one per tick of the 50-million-tick span.
  CHECK(wakeups < 200'000);
}
