#pragma once
// PartialMessageBudget: the memory all WebSockets of one shard may hold in messages that have not fully
// arrived — each message's assembly buffer (its capacity, not its size, plus its record) and the
// inflate stream it borrows while it spans reads. One connection is held to max_message_size (1009);
// this bounds the sum, so that many connections, each within its own limit, cannot add up to
// exhaustion: a message that needs more than is left fails with 1013 (try again later). A message that
// arrives whole in one read is delivered in place and holds nothing.
//
// One per shard, shared by the shard's WebSocket routes (App), or owned by a context of its own (a
// WebSocketClient). Changed by the shard's thread only; /metrics reads `held` from any thread.
#include <cstddef>
#include <cstdint>

#include <ringcast/core/counter.hpp>

namespace ringcast {

struct PartialMessageBudget {
  explicit PartialMessageBudget(size_t bytes) noexcept : limit(bytes) {}

  // What may still be taken now (0 when the shard is at or over its limit).
  size_t left() const noexcept {
    const uint64_t now = held.get();
    return now < limit ? static_cast<size_t>(limit - now) : 0;
  }

  size_t limit;
  Counter held;  // bytes held now
};

}  // namespace ringcast
