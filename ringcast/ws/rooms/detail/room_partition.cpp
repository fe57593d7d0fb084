#include <ringcast/ws/rooms/detail/room_partition.hpp>

#include <fmt/format.h>

#include <iterator>

#include <ringcast/net/redis/key_slot.hpp>

namespace ringcast {

std::string partition_tag(unsigned partition, unsigned partitions) {
  const uint32_t first = static_cast<uint32_t>(uint64_t{partition} * kRedisSlots / partitions);
  const uint32_t end = static_cast<uint32_t>(uint64_t{partition + 1} * kRedisSlots / partitions);
  std::string tag = fmt::format("r{}", partition);
  const size_t base = tag.size();
  for (unsigned k = 1; first < end; ++k) {
    const uint16_t slot = redis_key_slot(tag);
    if (slot >= first && slot < end) break;
    tag.resize(base);
    fmt::format_to(std::back_inserter(tag), ".{}", k);
  }
  return tag;
}

}  // namespace ringcast
