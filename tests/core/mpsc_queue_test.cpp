// MpscQueue: FIFO per producer, empty() as the shard's sleep check reads it, the stub node's round
// trips, nodes left at destruction, and a multi-producer run that must lose and repeat nothing.
#include <ringcast/core/detail/mpsc_queue.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

using namespace ringcast;

namespace {

using Queue = MpscQueue<uint64_t>;

Queue::Node* node(uint64_t v) {
  auto* n = new Queue::Node{};
  n->value = v;
  return n;
}

// Pops one node, returns its value and deletes it; -1 when the queue gave nothing.
int64_t take(Queue& q) {
  Queue::Node* n = q.pop();
  if (!n) return -1;
  const auto v = static_cast<int64_t>(n->value);
  delete n;
  return v;
}

struct Tracked {
  static inline int alive = 0;
  Tracked() noexcept { ++alive; }
  ~Tracked() { --alive; }
};

}  // namespace

TEST_CASE("mpsc queue: one producer's items come out in the order pushed, then nothing") {
  Queue q;
  CHECK(q.empty());
  CHECK(q.pop() == nullptr);
  for (uint64_t i = 0; i < 100; ++i) q.push(node(i));
  CHECK_FALSE(q.empty());
  for (int64_t i = 0; i < 100; ++i) CHECK(take(q) == i);
  CHECK(q.pop() == nullptr);
  CHECK(q.empty());
}

TEST_CASE("mpsc queue: empty() is false from a push until that item is popped, the last one included") {
  Queue q;
  q.push(node(1));
  CHECK_FALSE(q.empty());
  q.push(node(2));
  CHECK(take(q) == 1);
  CHECK_FALSE(q.empty());
  CHECK(take(q) == 2);  // the last item is handed out by putting the stub back behind it
  CHECK(q.empty());
  q.push(node(3));
  CHECK_FALSE(q.empty());
  CHECK(take(q) == 3);
  CHECK(q.empty());
}

TEST_CASE("mpsc queue: draining to empty and filling again keeps order, however often the stub goes round") {
  Queue q;
  uint64_t next_in = 0;
  int64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int pushes = 1 + round % 4;
    for (int k = 0; k < pushes; ++k) q.push(node(next_in++));
    const int pops = round % 3 == 0 ? pushes : pushes - 1;  // sometimes one stays behind
    for (int k = 0; k < pops; ++k) CHECK(take(q) == next_out++);
  }
  while (!q.empty()) CHECK(take(q) == next_out++);
  CHECK(next_out == static_cast<int64_t>(next_in));
  CHECK(q.pop() == nullptr);
}

TEST_CASE("mpsc queue: nodes still queued when it is destroyed are deleted with their values") {
  Tracked::alive = 0;
  {
    MpscQueue<Tracked> q;
    CHECK(Tracked::alive == 1);  // the stub's value
    for (int i = 0; i < 5; ++i) q.push(new MpscQueue<Tracked>::Node{});
    delete q.pop();
    CHECK(Tracked::alive == 5);
  }
  CHECK(Tracked::alive == 0);
}

TEST_SUITE("shards") {

TEST_CASE("mpsc queue: four producers, one consumer, a million items: none lost, none repeated, FIFO per producer") {
  constexpr unsigned kProducers = 4;
  constexpr uint64_t kPerProducer = 250'000;
  // value = producer << 32 | sequence
  Queue q;
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (uint64_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint64_t seq = 0; seq < kPerProducer; ++seq) {
        q.push(node(p << 32 | seq));
        if (seq % 1024 == 0) std::this_thread::yield();  // let the others interleave on two cores
      }
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t received = 0, out_of_order = 0, strangers = 0;
  go.store(true, std::memory_order_release);
  while (received < kProducers * kPerProducer) {
    Queue::Node* n = q.pop();
    if (!n) {  // empty, or a push half-way through: it shows on a later call
      std::this_thread::yield();
      continue;
    }
    const uint64_t p = n->value >> 32, seq = n->value & 0xffffffff;
    delete n;
    ++received;
    if (p >= kProducers) {
      ++strangers;
      continue;
    }
    if (seq != next[p]) ++out_of_order;
    next[p] = seq + 1;
  }
  for (std::thread& t : producers) t.join();
  CHECK(out_of_order == 0);
  CHECK(strangers == 0);
  for (unsigned p = 0; p < kProducers; ++p) CHECK(next[p] == kPerProducer);
  CHECK(q.pop() == nullptr);  // nothing beyond what was pushed
  CHECK(q.empty());
}

}  // TEST_SUITE
