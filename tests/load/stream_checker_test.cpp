#include "bench/load/stream_checker.hpp"

#include <doctest/doctest.h>

using namespace ringcast::load;

TEST_CASE("stream checker: an intact stream counts everything received and nothing else") {
  StreamChecker c;
  for (uint64_t s = 1; s <= 1000; ++s) c.on_message(s);
  const StreamCounts r = c.finish(1000);
  CHECK(r.received == 1000);
  CHECK(r.lost == 0);
  CHECK(r.duplicates == 0);
  CHECK(r.reordered == 0);
}

TEST_CASE("stream checker: a gap filled later is a reordering; a gap never filled is a loss") {
  StreamChecker c;
  for (uint64_t s : {1, 2, 4, 5, 3, 7, 8, 10}) c.on_message(s);
  const StreamCounts r = c.finish(12);
  CHECK(r.received == 8);
  CHECK(r.reordered == 1);      // 3 came after 4 and 5
  CHECK(r.lost == 2 + 2);       // 6 and 9 never came; 11 and 12 were sent but never arrived
  CHECK(r.duplicates == 0);
}

TEST_CASE("stream checker: repeats are duplicates, whether in order or late") {
  StreamChecker c;
  for (uint64_t s : {1, 1, 2, 4, 3, 3, 4, 5}) c.on_message(s);
  const StreamCounts r = c.finish(5);
  CHECK(r.received == 5);
  CHECK(r.duplicates == 3);
  CHECK(r.reordered == 1);
  CHECK(r.lost == 0);
}
