#pragma once
// MpscQueue: an unbounded, lock-free, intrusive multi-producer/single-consumer queue (Vyukov's).
//
// Used only where threads outside the shards hand work to a shard (Shard::post): any thread may push,
// only the owning shard pops. Nodes are allocated by the pusher and freed by the consumer. The hot
// cross-shard path never comes here; it uses one SpscQueue per ordered pair of shards.
#include <atomic>
#include <type_traits>

namespace ringcast {

template <typename T>
class MpscQueue {
  static_assert(std::is_default_constructible_v<T>, "the stub node holds a default T");

 public:
  struct Node {
    std::atomic<Node*> next{nullptr};
    T value;
  };

  MpscQueue() noexcept : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;
  ~MpscQueue() {
    while (Node* n = pop()) delete n;
  }

  // Any thread. Takes ownership of `node`.
  void push(Node* node) noexcept {
    node->next.store(nullptr, std::memory_order_relaxed);
    Node* prev = head_.exchange(node, std::memory_order_acq_rel);
    prev->next.store(node, std::memory_order_release);
  }

  // Consumer only. Returns the oldest node (the caller deletes it), or nullptr when empty or when a
  // push is half-way through (it will be seen on a later call).
  Node* pop() noexcept {
    Node* tail = tail_;
    Node* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (!next) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is in progress
    push(&stub_);  // the stub keeps the list non-empty so the last real node can be handed out
    next = tail->next.load(std::memory_order_acquire);
    if (next) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

  // Consumer only: true when nothing is queued (a push in progress counts as queued).
  bool empty() const noexcept {
    return tail_ == &stub_ && stub_.next.load(std::memory_order_acquire) == nullptr &&
           head_.load(std::memory_order_acquire) == &stub_;
  }

 private:
  std::atomic<Node*> head_;  // producers push here
  Node* tail_;               // consumer pops here
  Node stub_;
};

}  // namespace ringcast
