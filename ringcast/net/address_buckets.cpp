#include <ringcast/net/address_buckets.hpp>

#include <cstring>

namespace ringcast {

AddressBuckets::Key AddressBuckets::key_of(const SocketAddress& address) noexcept {
  Key k;
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.data());
    k.family = AF_INET;
    k.bits = ntohl(in->sin_addr.s_addr);
  } else if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.data());
    const uint8_t* bytes = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      k.family = AF_INET;
      k.bits = uint64_t{bytes[12]} << 24 | uint64_t{bytes[13]} << 16 | uint64_t{bytes[14]} << 8 | bytes[15];
    } else {
      k.family = AF_INET6;
      std::memcpy(&k.bits, bytes, 8);  // the /64; byte order does not matter for a key
    }
  }
  return k;
}

uint64_t AddressBuckets::take(const SocketAddress& address, uint64_t now_ms, double n) {
  const Key key = key_of(address);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= capacity_) make_room(now_ms);
    it = buckets_.emplace(key, Entry{TokenBucket(rate_, now_ms), next_serial_}).first;
    order_.emplace_back(key, next_serial_++);
  }
  TokenBucket& b = it->second.bucket;
  if (b.take(rate_, n, now_ms)) return 0;
  return b.wait_ms(rate_, n, now_ms);
}

void AddressBuckets::give_back(const SocketAddress& address, double n) {
  const auto it = buckets_.find(key_of(address));
  if (it != buckets_.end()) it->second.bucket.give_back(rate_, n);
}

void AddressBuckets::make_room(uint64_t now_ms) {
  if (now_ms >= next_sweep_ms_) {
    next_sweep_ms_ = now_ms + 1000;
    std::erase_if(buckets_, [&](auto& kv) { return kv.second.bucket.full(rate_, now_ms); });
  }
  // Still full: the address tracked longest goes (entries of addresses swept or gone are skipped).
  while (buckets_.size() >= capacity_ && !order_.empty()) {
    const auto [key, serial] = order_.front();
    order_.pop_front();
    const auto it = buckets_.find(key);
    if (it != buckets_.end() && it->second.serial == serial) buckets_.erase(it);
  }
  // Entries of swept addresses pile up in order_: drop them once they outnumber the live ones.
  if (order_.size() > 2 * buckets_.size() + 64) {
    std::erase_if(order_, [this](const auto& entry) {
      const auto it = buckets_.find(entry.first);
      return it == buckets_.end() || it->second.serial != entry.second;
    });
  }
}

}  // namespace ringcast
