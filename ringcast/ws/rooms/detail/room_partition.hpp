#pragma once
// Where a room lives: its partition, a fixed function of its name that every node computes alike (a
// 64-bit FNV-1a hash: std::hash may differ between builds), and from it the room's home shard on each
// node and its channel and keys in Redis. Rooms sharing a partition share a channel, so a node
// subscribes to at most `partitions` channels however many rooms it serves. In Redis a partition's
// channel and its rooms' keys carry the partition's hash tag (partition_tag): in a Redis Cluster they
// share one slot, and the partitions' slots are spread evenly over the cluster's 16384.
#include <cstdint>
#include <string>
#include <string_view>


namespace ringcast {

constexpr uint64_t room_hash(std::string_view name) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

constexpr unsigned room_partition(std::string_view name, unsigned partitions) noexcept {
  return static_cast<unsigned>(room_hash(name) % partitions);
}

// The hash tag of `partition`: the first of "r<p>", "r<p>.1", "r<p>.2", … whose slot falls in the
// partition's share of the slots, [p·16384/partitions, (p+1)·16384/partitions). Every node finds the
// same one.
std::string partition_tag(unsigned partition, unsigned partitions);

}  // namespace ringcast
