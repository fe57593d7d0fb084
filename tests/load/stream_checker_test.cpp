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

TEST_CASE("stream checker: after a reconnect to a live room, what was sent meanwhile is not recovered, not lost") {
  StreamChecker c;
  for (uint64_t s : {1, 2, 3}) c.on_message(s);
  c.resumed();  // away while 4..6 were sent
  CHECK(c.resuming());
  for (uint64_t s : {7, 8}) c.on_message(s);
  CHECK_FALSE(c.resuming());
  c.on_message(10);  // a gap after the resume is a loss again
  const StreamCounts r = c.finish(10);
  CHECK(r.received == 6);
  CHECK(r.not_recovered == 3);
  CHECK(r.lost == 1);
}

TEST_CASE("stream checker: messages the sender cannot vouch for are neither lost nor not recovered") {
  // The sender's connection dropped with 4 and 5 out, and 9 and 10 out at the end.
  const Excused doubt = {{4, 5}, {9, 10}};
  StreamChecker stayed;  // never away: 4 and 5 never came
  for (uint64_t s : {1, 2, 3, 6, 7, 8}) stayed.on_message(s);
  const StreamCounts a = stayed.finish(10, doubt);
  CHECK(a.lost == 0);
  CHECK(a.not_recovered == 0);
  StreamChecker away;  // away from 2 to 7
  away.on_message(1);
  away.resumed();
  away.on_message(8, &doubt);
  const StreamCounts b = away.finish(10, doubt);
  CHECK(b.not_recovered == 4);  // 2, 3, 6, 7
  CHECK(b.lost == 0);
  StreamChecker silent;  // resumed and heard nothing of this sender since
  silent.on_message(1);
  silent.resumed();
  CHECK(silent.finish(8, doubt).not_recovered == 5);  // 2, 3, 6, 7, 8
}
