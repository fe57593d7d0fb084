// AddressBuckets (ringcast/net/address_buckets.hpp): a rate limit per client address, in bounded memory
// that never lets an address through untracked.
#include <doctest/doctest.h>

#include <ringcast/net/address_buckets.hpp>

using namespace ringcast;

namespace {

SocketAddress addr(const char* text) { return *SocketAddress::parse(text); }

}  // namespace

TEST_CASE("address buckets: IPv4 hosts and IPv6 /64 prefixes, ports aside; unknown addresses share one bucket") {
  AddressBuckets b(Rate{.per_second = 1, .burst = 1});
  CHECK(b.take(addr("192.0.2.1:1000"), 0) == 0);
  CHECK(b.take(addr("192.0.2.1:2000"), 0) == 1000);  // same host: a token a second
  CHECK(b.take(addr("[::ffff:192.0.2.1]:3000"), 0) > 0);  // the same host, IPv4-mapped
  CHECK(b.take(addr("192.0.2.2:1000"), 0) == 0);
  CHECK(b.take(addr("[2001:db8:1:2::1]:1"), 0) == 0);
  CHECK(b.take(addr("[2001:db8:1:2:ffff::9]:1"), 0) > 0);  // same /64
  CHECK(b.take(addr("[2001:db8:1:3::1]:1"), 0) == 0);
  CHECK(b.take(SocketAddress{}, 0) == 0);
  CHECK(b.take(SocketAddress{}, 0) > 0);
  CHECK(b.take(addr("192.0.2.1:1000"), 1000) == 0);  // a second later
}

TEST_CASE("address buckets: full, the table drops refilled buckets, then the oldest address; the newcomer is limited") {
  AddressBuckets b(Rate{.per_second = 1, .burst = 1}, 3);
  for (const char* a : {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"}) CHECK(b.take(addr(a), 0) == 0);
  CHECK(b.tracked() == 3);
  CHECK(b.take(addr("10.0.0.4:1"), 0) == 0);
  CHECK(b.take(addr("10.0.0.4:1"), 0) > 0);  // tracked, and limited
  CHECK(b.tracked() == 3);
  CHECK(b.take(addr("10.0.0.2:1"), 0) > 0);  // still tracked: 10.0.0.1, the oldest, made room
  CHECK(b.take(addr("10.0.0.1:1"), 0) == 0);  // forgotten, so a fresh bucket (and 10.0.0.2 goes)
  // Two seconds on, every bucket is full again: the next newcomer's sweep drops them all.
  CHECK(b.take(addr("10.0.0.5:1"), 2000) == 0);
  CHECK(b.tracked() == 1);
}

TEST_CASE("address buckets: given back tokens return up to the burst, for addresses still tracked") {
  AddressBuckets b(Rate{.per_second = 0.1, .burst = 2});
  const SocketAddress a = addr("198.51.100.7:9");
  CHECK(b.take(a, 0) == 0);
  CHECK(b.take(a, 0) == 0);
  CHECK(b.take(a, 0) == 10000);
  b.give_back(a);
  b.give_back(a);
  b.give_back(a);
  CHECK(b.take(a, 0) == 0);
  CHECK(b.take(a, 0) == 0);
  CHECK(b.take(a, 0) > 0);
  b.give_back(addr("198.51.100.8:9"));  // never seen: nothing happens
  CHECK(b.tracked() == 1);
}
