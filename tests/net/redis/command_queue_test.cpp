// A connection's queue of commands: what waits leaves in one piece, replies take the oldest, bytes
// stay readable for a redirect, and the storage is compacted without losing what is in flight.
#include <ringcast/net/redis/detail/command_queue.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace ringcast;

TEST_CASE("command queue: waiting commands leave together; replies take them oldest first, with their bytes") {
  CommandQueue q;
  int answered = 0;
  q.append(CommandQueue::Entry{.callback = [&](const RedisReply&) { answered += 1; }, .slot = 7}, std::string_view("one"));
  q.append(CommandQueue::Entry{.callback = [&](const RedisReply&) { answered += 10; }, .slot = 8}, std::string_view("two"));
  CHECK(q.waiting() == 2);
  CHECK(q.in_flight() == 0);
  CHECK(q.unsent() == "onetwo");
  q.mark_sent(5);
  CHECK(q.in_flight() == 2);
  CHECK(q.unsent().empty());
  q.append(CommandQueue::Entry{.slot = 9}, std::string_view("three"));
  CHECK(q.unsent() == "three");
  CHECK(q.bytes() == 11);
  CommandQueue::Entry e = q.pop_front();
  CHECK(e.slot == 7);
  CHECK(e.sent_ms == 5);
  CHECK(q.bytes_of(e) == "one");
  e.callback(RedisReply(RedisOutcome::unknown));
  CHECK(answered == 1);
  int slots = 0;
  q.for_each_in_flight([&](CommandQueue::Entry& x) { slots += x.slot; });
  CHECK(slots == 8);  // "three" waits
  CHECK(q.pop_front().slot == 8);
  CHECK(q.pop_front().slot == 9);  // taken out before it was written (its connection failed)
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("command queue: a queue that never drains is compacted and keeps every command's bytes") {
  CommandQueue q;
  uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 2000; ++round) {
    for (int k = 0; k < 3; ++k) {
      const std::string body = "cmd-" + std::to_string(next_in) + std::string(next_in % 5000, 'x');
      q.append(CommandQueue::Entry{.slot = static_cast<uint16_t>(next_in % 16384)}, std::string_view(body));
      ++next_in;
    }
    q.mark_sent(1);
    for (int k = 0; k < 2; ++k) {  // one more in than out each round: it never drains
      CommandQueue::Entry e = q.pop_front();
      const std::string body = "cmd-" + std::to_string(next_out) + std::string(next_out % 5000, 'x');
      REQUIRE(q.bytes_of(e) == body);
      REQUIRE(e.slot == next_out % 16384);
      ++next_out;
    }
  }
  CHECK(q.size() == 2000);
  // What is stored stays within twice what is in flight (plus the 64 KiB below which nothing moves),
  // not all 6,000 commands ever written.
  CHECK(q.stored_bytes() <= 2 * q.bytes() + 65536);
}
