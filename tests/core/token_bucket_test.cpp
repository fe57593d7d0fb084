// TokenBucket (ringcast/core/token_bucket.hpp): a burst at once, then the rate; time passed in.
#include <doctest/doctest.h>

#include <ringcast/core/token_bucket.hpp>

using namespace ringcast;

TEST_CASE("token bucket: starts full, gives its burst at once, then refills at its rate up to the burst") {
  const Rate r{.per_second = 10, .burst = 3};
  TokenBucket b(r, 1000);
  CHECK(b.take(r, 1, 1000));
  CHECK(b.take(r, 1, 1000));
  CHECK(b.take(r, 1, 1000));
  CHECK_FALSE(b.take(r, 1, 1000));
  CHECK(b.wait_ms(r, 1, 1000) == 100);   // one token every 100 ms
  CHECK(b.wait_ms(r, 1, 1040) == 60);
  CHECK_FALSE(b.take(r, 1, 1099));
  CHECK(b.take(r, 1, 1100));
  CHECK(b.available(r, 1000000) == doctest::Approx(3));  // never more than the burst
  CHECK(b.full(r, 1000000));
}

TEST_CASE("token bucket: spend takes work already done and stops at zero; give_back returns tokens up to the burst") {
  const Rate r{.per_second = 1000, .burst = 5000};
  TokenBucket b(r, 0);
  b.spend(r, 4000, 0);
  CHECK(b.available(r, 0) == doctest::Approx(1000));
  b.spend(r, 9000, 0);
  CHECK(b.available(r, 0) == doctest::Approx(0));
  CHECK(b.available(r, 500) == doctest::Approx(500));
  b.give_back(r, 100000);
  CHECK(b.available(r, 500) == doctest::Approx(5000));
}

TEST_CASE("token bucket: many small refills add up (no token lost to rounding), and time running backwards is ignored") {
  const Rate r{.per_second = 0.5, .burst = 1};
  TokenBucket b(r, 0);
  REQUIRE(b.take(r, 1, 0));
  for (uint64_t t = 1; t < 2000; ++t) CHECK_FALSE(b.take(r, 1, t));  // asked every millisecond
  CHECK(b.take(r, 1, 2000));
  CHECK_FALSE(b.take(r, 1, 1000));  // an earlier time changes nothing
  CHECK(b.wait_ms(r, 1, 2000) == 2000);
}
