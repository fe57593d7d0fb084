// OutputQueue on its own: how writes become segments, how a send is gathered, and that every pool
// block and every external owner is given back exactly once. (Loop::write_shared's copy past 16
// queued segments lives in the loop, and is tested through a real connection in tcp_server_test.)
#include <ringcast/net/backend/detail/output_queue.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/heap_bytes.hpp"

using namespace ringcast;

namespace {

constexpr size_t kBlock = BufferPool::kBlockSize;

// External bytes with an owner that logs its releases, in order, in a log shared by several owners.
struct Owner {
  int id;
  std::vector<int>* log;
  static void release(void* p) noexcept {
    auto* o = static_cast<Owner*>(p);
    o->log->push_back(o->id);
  }
};

// n bytes that say where they stand in a stream starting at `from`, so order and loss both show.
std::string pattern(size_t n, size_t from = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 26);
  return s;
}

const uint8_t* bytes_of(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// `count` external segments of `size` bytes queued one after the other, cut from one patterned
// buffer (so contiguous, yet each appended as its own segment), owner i logging i when released.
struct Externals {
  std::vector<int> log;
  std::vector<Owner> owners;
  std::string bytes;
  Externals(OutputQueue& q, int count, size_t size) : owners(static_cast<size_t>(count)), bytes(pattern(count * size)) {
    for (int i = 0; i < count; ++i) {
      owners[i] = Owner{i, &log};
      q.append_external(bytes_of(bytes) + i * size, size, &owners[i], &Owner::release);
    }
  }
};

// What the next send would carry, at most `max_iov` segments and about `max_bytes` bytes.
std::string gathered(const OutputQueue& q, size_t max_iov = OutputQueue::kMaxIov, size_t max_bytes = SIZE_MAX) {
  iovec iov[OutputQueue::kMaxIov];
  const size_t count = q.gather(iov, max_iov, max_bytes);
  std::string out;
  for (size_t i = 0; i < count; ++i) out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

std::string front_of(const OutputQueue& q) {
  const std::span<const uint8_t> f = q.front();
  return {reinterpret_cast<const char*>(f.data()), f.size()};
}

}  // namespace

TEST_CASE("output queue: small writes are copied together into the tail pool block") {
  BufferPool pool;
  OutputQueue q;
  std::string all;
  for (int i = 0; i < 100; ++i) {
    const std::string msg = pattern(100, all.size());
    q.append(msg.data(), msg.size(), pool);
    all += msg;
  }
  CHECK(q.segments() == 1);
  CHECK(pool.blocks_in_use() == 1);
  CHECK(q.bytes() == 10'000);
  CHECK(front_of(q) == all);
  q.clear(pool);
  CHECK(pool.blocks_in_use() == 0);
}

TEST_CASE("output queue: a write that does not fit the tail's room starts a new block, whole") {
  BufferPool pool;
  OutputQueue q;
  const std::string a = pattern(kBlock - 100), b = pattern(200, a.size());
  q.append(a.data(), a.size(), pool);
  q.append(b.data(), b.size(), pool);
  CHECK(q.segments() == 2);
  CHECK(pool.blocks_in_use() == 2);
  CHECK(front_of(q) == a);  // the 100 bytes of room left stay unused: a message is never split
  CHECK(gathered(q) == a + b);
  q.clear(pool);
  CHECK(pool.blocks_in_use() == 0);
}

TEST_CASE("output queue: a write of a few blocks fills pool blocks; a far larger one takes one dedicated block") {
  BufferPool pool;
  OutputQueue q;
  const std::string head = pattern(1000);
  const std::string mid = pattern(3 * kBlock, head.size());  // up to 4 blocks: pool blocks, filled in turn
  q.append(head.data(), head.size(), pool);
  q.append(mid.data(), mid.size(), pool);
  CHECK(q.segments() == 4);  // the first block's room, then whole blocks
  CHECK(pool.blocks_in_use() == 4);
  CHECK(front_of(q).size() == kBlock);  // the tail block was filled before a new one was taken

  const size_t heap_before = test::heap_bytes_in_use();
  const std::string big = pattern(5 * kBlock, head.size() + mid.size());
  q.append(big.data(), big.size(), pool);
  CHECK(q.segments() == 5);  // one segment, one copy
  CHECK(pool.blocks_in_use() == 4);
  CHECK(test::heap_bytes_in_use() >= heap_before + big.size());
  CHECK(gathered(q) == head + mid + big);

  q.consume(head.size() + mid.size(), pool);
  CHECK(pool.blocks_in_use() == 0);
  CHECK(test::frees(big.size(), [&] { q.consume(big.size(), pool); }));  // the dedicated block, once sent
  CHECK(q.empty());
}

TEST_CASE("output queue: reserve gives the tail block's room; commit makes exactly what was written pending") {
  BufferPool pool;
  OutputQueue q;
  std::span<uint8_t> room = q.reserve(10, pool);
  CHECK(room.size() == kBlock);
  CHECK(q.empty());  // reserved is not pending
  std::memcpy(room.data(), "hello", 5);
  q.commit(5);
  CHECK(q.bytes() == 5);
  CHECK(front_of(q) == "hello");

  // The next reservation continues right behind the committed bytes, in the same block.
  std::span<uint8_t> next = q.reserve(10, pool);
  CHECK(next.data() == room.data() + 5);
  CHECK(next.size() == kBlock - 5);
  q.commit(0);
  CHECK(q.bytes() == 5);

  // A reservation larger than the room left opens a new block; one larger than a block, a dedicated one.
  std::memcpy(next.data(), pattern(kBlock - 5).data(), kBlock - 5);
  q.commit(kBlock - 5);
  std::span<uint8_t> fresh = q.reserve(1, pool);
  CHECK(fresh.size() == kBlock);
  CHECK(pool.blocks_in_use() == 2);
  q.commit(0);
  std::span<uint8_t> large = q.reserve(3 * kBlock, pool);
  CHECK(large.size() == 3 * kBlock);
  CHECK(pool.blocks_in_use() == 2);
  std::memset(large.data(), 'x', 100);
  q.commit(100);
  CHECK(q.bytes() == kBlock + 100);
  CHECK(gathered(q) == "hello" + pattern(kBlock - 5) + std::string(100, 'x'));
  q.clear(pool);  // the empty block and the dedicated one go too (ASan: no leak)
  CHECK(pool.blocks_in_use() == 0);
}

TEST_CASE("output queue: external bytes are queued by reference and released once sent") {
  BufferPool pool;
  OutputQueue q;
  std::vector<int> log;
  Owner o{1, &log};
  const std::string frame = pattern(300);
  q.append_external(bytes_of(frame), frame.size(), &o, &Owner::release);
  CHECK(q.segments() == 1);
  CHECK(q.bytes() == 300);
  CHECK(q.front().data() == bytes_of(frame));  // no copy
  CHECK(pool.blocks_in_use() == 0);
  q.consume(299, pool);
  CHECK(log.empty());  // one byte is still to send
  CHECK(q.front().data() == bytes_of(frame) + 299);
  q.consume(1, pool);
  CHECK(log == std::vector<int>{1});
  CHECK(q.empty());
  CHECK(q.segments() == 0);
}

TEST_CASE("output queue: extend_external joins only bytes of the same owner that continue the last external segment") {
  BufferPool pool;
  OutputQueue q;
  std::vector<int> log;
  Owner a{1, &log}, b{2, &log};
  const std::string frames = pattern(1000);  // one owner's buffer of frames, back to back
  const uint8_t* base = bytes_of(frames);

  CHECK_FALSE(q.extend_external(base, 100, &a));  // nothing to join
  q.append_external(base, 100, &a, &Owner::release);

  SUBCASE("same owner, contiguous: one segment, no new reference") {
    CHECK(q.extend_external(base + 100, 100, &a));
    CHECK(q.extend_external(base + 200, 50, &a));
    CHECK(q.segments() == 1);
    CHECK(q.bytes() == 250);
    CHECK(front_of(q) == frames.substr(0, 250));
    q.consume(250, pool);
    CHECK(log == std::vector<int>{1});  // released once for the three frames
  }
  SUBCASE("same owner, contiguous, after part of the segment was sent") {
    q.consume(60, pool);
    CHECK(q.extend_external(base + 100, 100, &a));
    CHECK(front_of(q) == frames.substr(60, 140));
    q.clear(pool);
    CHECK(log == std::vector<int>{1});
  }
  SUBCASE("another owner, though contiguous") {
    CHECK_FALSE(q.extend_external(base + 100, 100, &b));
    CHECK(q.segments() == 1);
    CHECK(q.bytes() == 100);
  }
  SUBCASE("same owner with a gap (a frame this connection skipped)") {
    CHECK_FALSE(q.extend_external(base + 150, 100, &a));
    CHECK_FALSE(q.extend_external(base + 50, 50, &a));  // overlapping, behind the end
    CHECK(q.bytes() == 100);
  }
  SUBCASE("the last segment is a copy, not the external one") {
    q.append("xyz", 3, pool);
    CHECK_FALSE(q.extend_external(base + 100, 100, &a));
    CHECK(q.segments() == 2);
    CHECK(q.bytes() == 103);
  }
  SUBCASE("the last segment is a pool block, even named as the owner: its room is the queue's own") {
    OutputQueue copies;
    copies.append("xyz", 3, pool);
    const uint8_t* block = copies.front().data();  // the block's start, the segment's owner
    CHECK_FALSE(copies.extend_external(block + 3, 10, const_cast<uint8_t*>(block)));
    CHECK(copies.bytes() == 3);
    copies.clear(pool);
  }
  SUBCASE("the last segment is another owner's") {
    const std::string other = pattern(10);
    q.append_external(bytes_of(other), other.size(), &b, &Owner::release);
    CHECK_FALSE(q.extend_external(base + 100, 100, &a));
    q.clear(pool);
    CHECK(log == std::vector<int>{1, 2});
  }
  SUBCASE("everything was sent: nothing is left to join") {
    q.consume(100, pool);
    CHECK_FALSE(q.extend_external(base + 100, 100, &a));
  }
  q.clear(pool);
  CHECK(q.empty());
}

TEST_CASE("output queue: a send gathers at most kMaxIov segments, or fewer when asked") {
  BufferPool pool;
  OutputQueue q;
  const Externals e(q, 100, 10);
  const std::string& bytes = e.bytes;
  CHECK(q.segments() == 100);
  CHECK(gathered(q) == bytes.substr(0, OutputQueue::kMaxIov * 10));
  CHECK(gathered(q, 5) == bytes.substr(0, 50));

  msghdr& m = q.prepare_send(SIZE_MAX);
  CHECK(m.msg_iovlen == OutputQueue::kMaxIov);
  CHECK(m.msg_iov[0].iov_base == bytes_of(bytes));
  CHECK(m.msg_iov[OutputQueue::kMaxIov - 1].iov_len == 10);
  q.clear(pool);
  CHECK(e.log.size() == 100);
}

TEST_CASE("output queue: a send stops adding segments once it holds max_bytes, and takes the last one whole") {
  BufferPool pool;
  OutputQueue q;
  const Externals e(q, 10, 100);
  const std::string& bytes = e.bytes;
  CHECK(gathered(q, OutputQueue::kMaxIov, 1) == bytes.substr(0, 100));  // always at least one segment
  CHECK(gathered(q, OutputQueue::kMaxIov, 250) == bytes.substr(0, 300));
  CHECK(gathered(q, OutputQueue::kMaxIov, 300) == bytes.substr(0, 300));
  CHECK(gathered(q, OutputQueue::kMaxIov, 301) == bytes.substr(0, 400));
  CHECK(q.prepare_send(250).msg_iovlen == 3);
  q.clear(pool);
}

TEST_CASE("output queue: an emptied tail block is kept for the next write, and a send skips it") {
  BufferPool pool;
  OutputQueue q;
  std::vector<int> log;
  Owner o{1, &log};
  q.append("abc", 3, pool);
  q.consume(3, pool);
  CHECK(q.empty());
  CHECK(pool.blocks_in_use() == 1);  // still the tail: the next small write goes into it
  CHECK(q.front().empty());
  CHECK(q.prepare_send(SIZE_MAX).msg_iovlen == 0);

  const std::string frame = pattern(50);
  q.append_external(bytes_of(frame), frame.size(), &o, &Owner::release);
  CHECK(q.prepare_send(SIZE_MAX).msg_iovlen == 1);  // the empty block is not sent
  CHECK(q.front().data() == bytes_of(frame));
  q.append("def", 3, pool);  // the tail is now the external segment: a new block
  CHECK(pool.blocks_in_use() == 2);
  CHECK(gathered(q) == frame + "def");

  q.consume(50, pool);  // sends the frame, and drops the empty block ahead of it
  CHECK(log == std::vector<int>{1});
  CHECK(pool.blocks_in_use() == 1);
  CHECK(front_of(q) == "def");
  q.clear(pool);
  CHECK(pool.blocks_in_use() == 0);
}

TEST_CASE("output queue: consume crosses segment boundaries: part of one, exactly one, several") {
  BufferPool pool;
  OutputQueue q;
  const Externals e(q, 6, 100);
  const std::string& bytes = e.bytes;
  const std::vector<int>& log = e.log;
  q.consume(30, pool);  // part of the first
  CHECK(log.empty());
  CHECK(q.bytes() == 570);
  CHECK(front_of(q) == bytes.substr(30, 70));

  q.consume(70, pool);  // exactly the rest of the first
  CHECK(log == std::vector<int>{0});
  CHECK(q.segments() == 5);
  CHECK(front_of(q) == bytes.substr(100, 100));

  q.consume(250, pool);  // two whole segments and half of the next
  CHECK(log == std::vector<int>{0, 1, 2});
  CHECK(q.segments() == 3);
  CHECK(front_of(q) == bytes.substr(350, 50));
  CHECK(gathered(q) == bytes.substr(350));

  q.consume(0, pool);
  CHECK(log.size() == 3);
  q.consume(250, pool);  // all that is left
  CHECK(log == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(q.empty());
  CHECK(q.segments() == 0);
}

TEST_CASE("output queue: pool blocks go back to the pool as they are sent") {
  BufferPool pool;
  OutputQueue q;
  const std::string data = pattern(3 * kBlock + 10);
  q.append(data.data(), data.size(), pool);
  CHECK(pool.blocks_in_use() == 4);
  q.consume(kBlock - 1, pool);
  CHECK(pool.blocks_in_use() == 4);  // one byte of the first block is still to send
  q.consume(1, pool);
  CHECK(pool.blocks_in_use() == 3);
  q.consume(2 * kBlock, pool);
  CHECK(pool.blocks_in_use() == 1);
  CHECK(front_of(q) == data.substr(3 * kBlock));
  q.consume(10, pool);
  CHECK(pool.blocks_in_use() == 1);  // the tail, kept for the next write
  q.clear(pool);
  CHECK(pool.blocks_in_use() == 0);
  CHECK(pool.hot_blocks() == 4);
}

TEST_CASE("output queue: clear releases each owner still queued exactly once, in queue order") {
  BufferPool pool;
  OutputQueue q;
  std::vector<int> log;
  std::vector<Owner> owners(5);
  const std::string bytes = pattern(500);
  for (int i = 0; i < 5; ++i) {
    owners[i] = Owner{i, &log};
    q.append_external(bytes_of(bytes) + i * 100, 100, &owners[i], &Owner::release);
    q.append("-", 1, pool);  // a copy between each: pool blocks interleaved with external segments
  }
  CHECK(pool.blocks_in_use() == 5);
  q.consume(150, pool);  // owner 0 sent, owner 1 half sent
  CHECK(log == std::vector<int>{0});
  q.clear(pool);
  CHECK(log == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(pool.blocks_in_use() == 0);
  CHECK(q.empty());
  CHECK(q.segments() == 0);
  q.clear(pool);  // a second clear has nothing to release
  CHECK(log.size() == 5);

  // The queue is reusable after clear (the shard recycles queues).
  q.append("again", 5, pool);
  CHECK(front_of(q) == "again");
  q.clear(pool);
  CHECK(pool.blocks_in_use() == 0);
}

TEST_CASE("output queue: a long queue sent a little at a time keeps its order and releases each owner once") {
  // Random copies, shared frames (some joined to the one before) and partial sends, checked against
  // a plain string of what should be pending: thousands of segments pass through the head, so the
  // queue compacts many times.
  BufferPool pool;
  OutputQueue q;
  std::mt19937 rng(12345);
  std::string pending;    // every byte queued so far; [sent, size) should still be in the queue
  size_t sent = 0;
  constexpr int kOwners = 10'000;
  std::vector<int> log;
  std::vector<Owner> owners(kOwners);
  std::vector<std::string> frames(kOwners);
  std::vector<int> released(kOwners, 0);
  int next_owner = 0;
  size_t sends = 0, joined = 0;
  auto check_released = [&] {
    for (int id : log) REQUIRE(++released[id] == 1);
    log.clear();
  };
  for (int step = 0; step < 40'000; ++step) {
    const unsigned op = rng() % 16;
    if (q.bytes() < (1 << 20) && op < 1) {  // a write of a few blocks
      const std::string s = pattern(1 + rng() % (3 * kBlock), pending.size());
      q.append(s.data(), s.size(), pool);
      pending += s;
    } else if (q.bytes() < (1 << 20) && op < 5) {  // a small write
      const std::string s = pattern(1 + rng() % 200, pending.size());
      q.append(s.data(), s.size(), pool);
      pending += s;
    } else if (q.bytes() < (1 << 20) && op < 9 && next_owner < kOwners) {  // a shared frame, maybe two
      const int id = next_owner++;
      const size_t n = 1 + rng() % 300;
      const bool join = rng() % 2;
      frames[id] = pattern(join ? 2 * n : n, pending.size());
      owners[id] = Owner{id, &log};
      q.append_external(bytes_of(frames[id]), n, &owners[id], &Owner::release);
      if (join) {
        REQUIRE(q.extend_external(bytes_of(frames[id]) + n, n, &owners[id]));
        ++joined;
      }
      pending += frames[id];
    } else {  // a send, of which the kernel may take less than offered
      msghdr& m = q.prepare_send(1 + rng() % (64 << 10));
      REQUIRE(m.msg_iovlen <= OutputQueue::kMaxIov);
      size_t total = 0;
      for (size_t i = 0; i < m.msg_iovlen; ++i) {
        REQUIRE(std::memcmp(m.msg_iov[i].iov_base, pending.data() + sent + total, m.msg_iov[i].iov_len) == 0);
        total += m.msg_iov[i].iov_len;
      }
      REQUIRE((total > 0) == (q.bytes() > 0));
      const size_t n = rng() % 4 == 0 ? total : rng() % (total + 1);
      q.consume(n, pool);
      sent += n;
      ++sends;
    }
    REQUIRE(q.bytes() == pending.size() - sent);
    check_released();
  }
  CHECK(sends > 10'000);
  CHECK(next_owner == kOwners);
  CHECK(joined > kOwners / 3);
  CHECK(q.bytes() > 0);
  q.clear(pool);
  check_released();
  for (int id = 0; id < next_owner; ++id) REQUIRE(released[id] == 1);
  CHECK(pool.blocks_in_use() == 0);
}
