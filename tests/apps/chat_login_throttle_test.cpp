// LoginThrottle (apps/chat/login_throttle.hpp): a token bucket per client address; failures spend,
// good logins give back. Time is passed in, so these run without waiting.
#include <doctest/doctest.h>

#include <chrono>

#include "apps/chat/login_throttle.hpp"

using namespace ringcast;
using namespace ringcast::chat;
using namespace std::chrono_literals;

namespace {

SocketAddress addr(const char* text) { return *SocketAddress::parse(text); }

}  // namespace

TEST_CASE("chat login throttle: a burst of attempts, then one per refill interval, with the wait in whole seconds") {
  LoginThrottle t(3, 6s);
  const auto t0 = LoginThrottle::Clock::now();
  const SocketAddress a = addr("192.0.2.1:1000");
  for (int i = 0; i < 3; ++i) CHECK(t.take(a, t0) == 0);
  CHECK(t.take(a, t0) == 6);
  CHECK(t.take(a, t0 + 2s) == 4);
  CHECK(t.take(a, t0 + 5500ms) == 1);
  CHECK(t.take(a, t0 + 6s) == 0);  // one token back
  CHECK(t.take(a, t0 + 6s) == 6);
  CHECK(t.take(a, t0 + 1h) == 0);  // refilled to the burst, no more
  CHECK(t.take(a, t0 + 1h) == 0);
  CHECK(t.take(a, t0 + 1h) == 0);
  CHECK(t.take(a, t0 + 1h) > 0);
}

TEST_CASE("chat login throttle: attempts that are given back (good logins) never run out") {
  LoginThrottle t(2, 60s);
  const auto t0 = LoginThrottle::Clock::now();
  const SocketAddress a = addr("192.0.2.1:1000");
  for (int i = 0; i < 100; ++i) {
    REQUIRE(t.take(a, t0) == 0);
    t.give_back(a);
  }
  CHECK(t.take(a, t0) == 0);
  CHECK(t.take(a, t0) == 0);
  CHECK(t.take(a, t0) > 0);
}

TEST_CASE("chat login throttle: addresses are IPv4 hosts and IPv6 /64 prefixes; ports do not matter") {
  LoginThrottle t(1, 60s);
  const auto t0 = LoginThrottle::Clock::now();
  CHECK(t.take(addr("192.0.2.1:1000"), t0) == 0);
  CHECK(t.take(addr("192.0.2.1:2000"), t0) > 0);   // same host, other port
  CHECK(t.take(addr("[::ffff:192.0.2.1]:3000"), t0) > 0);  // the same host, IPv4-mapped
  CHECK(t.take(addr("192.0.2.2:1000"), t0) == 0);  // another host
  CHECK(t.take(addr("[2001:db8:1:2::1]:1000"), t0) == 0);
  CHECK(t.take(addr("[2001:db8:1:2:ffff::9]:1000"), t0) > 0);  // same /64
  CHECK(t.take(addr("[2001:db8:1:3::1]:1000"), t0) == 0);      // another /64
  CHECK(t.take(SocketAddress{}, t0) == 0);  // unknown: one shared bucket
  CHECK(t.take(SocketAddress{}, t0) > 0);
}

TEST_CASE("chat login throttle: a burst of 0 never throttles") {
  LoginThrottle t(0, 60s);
  const auto t0 = LoginThrottle::Clock::now();
  for (int i = 0; i < 1000; ++i) REQUIRE(t.take(addr("192.0.2.1:1"), t0) == 0);
  CHECK(t.tracked() == 0);
}

TEST_CASE("chat login throttle: at most max_addresses buckets; full ones are swept, and beyond that new addresses go untracked") {
  LoginThrottle t(1, 1s, 2);
  const auto t0 = LoginThrottle::Clock::now();
  CHECK(t.take(addr("192.0.2.1:1"), t0) == 0);
  CHECK(t.take(addr("192.0.2.2:1"), t0) == 0);
  CHECK(t.tracked() == 2);
  CHECK(t.take(addr("192.0.2.3:1"), t0) == 0);  // no room, none full: let through, untracked
  CHECK(t.take(addr("192.0.2.3:1"), t0) == 0);
  CHECK(t.tracked() == 2);
  // Later the first two have refilled: the sweep frees their buckets for new addresses.
  CHECK(t.take(addr("192.0.2.3:1"), t0 + 5s) == 0);
  CHECK(t.tracked() == 1);
  CHECK(t.take(addr("192.0.2.3:1"), t0 + 5s) > 0);
}
