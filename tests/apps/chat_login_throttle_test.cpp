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

TEST_CASE("chat login throttle: at most max_addresses buckets; when full, refilled ones go, then the oldest, never the limit") {
  LoginThrottle t(1, 1s, 2);
  const auto t0 = LoginThrottle::Clock::now();
  CHECK(t.take(addr("192.0.2.1:1"), t0) == 0);
  CHECK(t.take(addr("192.0.2.2:1"), t0) == 0);
  CHECK(t.tracked() == 2);
  // No room and no bucket full again: the oldest address makes room, and the newcomer is held to the
  // limit like every other address.
  CHECK(t.take(addr("192.0.2.3:1"), t0) == 0);
  CHECK(t.take(addr("192.0.2.3:1"), t0) > 0);
  CHECK(t.tracked() == 2);
  CHECK(t.take(addr("192.0.2.2:1"), t0) > 0);  // still tracked, still spent
  // Later every bucket has refilled: the sweep drops them for the next newcomer.
  CHECK(t.take(addr("192.0.2.4:1"), t0 + 5s) == 0);
  CHECK(t.tracked() == 1);
  CHECK(t.take(addr("192.0.2.4:1"), t0 + 5s) > 0);
}

TEST_CASE("chat login throttle: 65,536 addresses that each failed once do not open the door for the next one") {
  LoginThrottle t(3, 6s);  // the server's table: 65,536 addresses
  const auto t0 = LoginThrottle::Clock::now();
  for (uint32_t i = 0; i < (1u << 16); ++i) {
    REQUIRE(t.take(SocketAddress::ipv4(0x0a000000 + i, 1), t0) == 0);  // 10.0.0.0/16, one failure each
  }
  CHECK(t.tracked() == 1u << 16);
  const SocketAddress guesser = addr("192.0.2.7:1");
  for (int i = 0; i < 3; ++i) CHECK(t.take(guesser, t0) == 0);
  CHECK(t.take(guesser, t0) == 6);  // a full table that let newcomers in untracked would grant this too
  CHECK(t.tracked() == 1u << 16);
}
