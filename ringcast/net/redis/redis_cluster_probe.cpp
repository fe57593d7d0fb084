// RedisCluster: probes, the proof that a subscriber connection still delivers (see the header). Run
// from the tick (every 100 ms): a node that holds channels gets a probe channel in a slot it serves,
// a probe is published every probe_interval once the probe channel is confirmed, and a connection
// without a probe back for probe_timeout is dropped. Times are steady_clock microseconds, so that
// proven_until_ms can be compared with the clock of any thread.
#include <ringcast/net/redis/redis_cluster.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <limits>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/key_slot.hpp>

namespace ringcast {
namespace {

// Tags tried for a node's probe channel: "0", "1", … cover nearly every slot within this many.
constexpr unsigned kTagTries = 1u << 17;

uint64_t steady_us() noexcept {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

}  // namespace

bool RedisCluster::proven(const RedisClusterStats& stats, uint64_t steady_ms, uint64_t& age_ms) noexcept {
  const uint64_t until = stats.proven_until_ms.get();
  age_ms = until > steady_ms ? 0 : steady_ms - until;
  return until > steady_ms;
}

void RedisCluster::probe_tick() {
  if (options_.probe_channel.empty() || options_.probe_interval.count() <= 0) return;
  const uint64_t now = steady_us();
  const auto interval = static_cast<uint64_t>(options_.probe_interval.count()) * 1000;
  const auto timeout = static_cast<uint64_t>(options_.probe_timeout.count()) * 1000;
  uint64_t until = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < nodes_.size(); ++i) {  // by index: dropping a connection runs callbacks
    if (!nodes_[i]) continue;
    Node& n = *nodes_[i];
    Probe& p = n.probe;
    // Probed while it holds channels, in a slot it still serves.
    const bool wanted = n.channels > 0 && n.subscriber;
    if (!p.channel.empty() && (!wanted || owner_[p.slot] != i)) stop_probe(n);
    if (wanted && p.channel.empty() && topology_known_) start_probe(static_cast<uint16_t>(i), now);
    if (p.channel.empty()) {
      // Channels there and no probe yet (no topology yet): unproven. A node none of the tags reach
      // (a few slots only) is not probed, and not held against readiness.
      if (wanted && !topology_known_) until = 0;
      continue;
    }
    if (p.active && now - p.sent_us >= interval) publish_probe(n, now);
    if (const uint64_t since = std::max(p.back_us, p.watch_us); now - since > timeout) {
      stats_.probes_lost.add(p.sent - p.back);
      p.back = p.sent;
      p.watch_us = now;  // the next connection gets its own probe_timeout
      request_refresh();
      if (n.subscriber->up()) {
        stats_.probe_reconnects.add();
        log::warn("{} {}: no probe back for {} ms; dropping the subscriber connection and asking for the topology",
                  options_.name, n.address.to_string(), (now - since) / 1000);
        n.subscriber->abort(-ETIMEDOUT);
      }
    }
    until = std::min(until, p.proven_us == 0 ? 0 : (p.proven_us + timeout) / 1000);
  }
  stats_.proven_until_ms.set(until);
}

void RedisCluster::start_probe(uint16_t index, uint64_t now_us) {
  Node& n = *nodes_[index];
  Probe& p = n.probe;
  char tag[16];
  for (unsigned k = 0; k < kTagTries; ++k) {
    const std::string_view t(tag, static_cast<size_t>(std::to_chars(tag, tag + sizeof tag, k).ptr - tag));
    const auto slot = static_cast<uint16_t>(redis_crc16(t) & (kRedisSlots - 1));  // the slot of "…{t}"
    if (owner_[slot] != index) continue;
    p = Probe{.channel = fmt::format("{}{{{}}}", options_.probe_channel, t), .slot = slot};
    break;
  }
  if (p.channel.empty()) return;  // a node with a few slots none of the tags reach: not probed
  // A new probe has probe_timeout to come back before the connection is taken for dead; delivery on
  // the connection is not proven until it does.
  p.back_us = p.watch_us = now_us;
  if (n.subscriber->up()) write_request(n, SubRequest::subscribe, p.channel);
}

void RedisCluster::probe_connected(Node& n) {
  Probe& p = n.probe;
  p.active = false;
  if (p.channel.empty()) return;
  p.watch_us = steady_us();
  write_request(n, SubRequest::subscribe, p.channel);
}

void RedisCluster::probe_confirmed(Node& n) {
  n.probe.active = true;
  publish_probe(n, steady_us());  // the proof as soon as it can be had
}

void RedisCluster::stop_probe(Node& n) {
  if (n.subscriber && n.subscriber->up()) write_request(n, SubRequest::unsubscribe, n.probe.channel);
  n.probe = Probe{};
}

void RedisCluster::publish_probe(Node& n, uint64_t now_us) {
  Probe& p = n.probe;
  p.sent_us = now_us;
  ++p.sent;
  stats_.probes_sent.add();
  const std::string message = fmt::format("{}:{}", p.sent, now_us);
  // On the command connection to the node that serves the slot (the same node): its answer, the
  // number of receivers, says nothing the probe's return does not.
  const std::string_view args[] = {"SPUBLISH", p.channel, message};
  command_at(p.slot, std::span<const std::string_view>(args), nullptr);
}

void RedisCluster::on_probe(Node& n, std::string_view message) {
  Probe& p = n.probe;
  uint64_t seq = 0, sent_us = 0;
  const size_t colon = message.find(':');
  const char* end = message.data() + message.size();
  if (colon == std::string_view::npos ||
      std::from_chars(message.data(), message.data() + colon, seq).ptr != message.data() + colon ||
      std::from_chars(message.data() + colon + 1, end, sent_us).ptr != end || seq > p.sent) {
    return;  // not one of ours
  }
  const uint64_t now = steady_us();
  p.back_us = p.proven_us = now;
  if (seq <= p.back) return;  // given up as lost already: it still proves delivery
  stats_.probes_lost.add(seq - p.back - 1);
  p.back = seq;
  stats_.probes_received.add();
  stats_.probe_round_trip_us.set(now >= sent_us ? now - sent_us : 0);
  const auto timeout = static_cast<uint64_t>(options_.probe_timeout.count()) * 1000;
  // Proven again: unless another connection is behind, ready at once rather than at the next tick.
  uint64_t until = std::numeric_limits<uint64_t>::max();
  for (const auto& other : nodes_) {
    if (!other || other->probe.channel.empty()) continue;
    const uint64_t proven_us = other->probe.proven_us;
    until = std::min(until, proven_us == 0 ? 0 : (proven_us + timeout) / 1000);
  }
  stats_.proven_until_ms.set(until);
}

}  // namespace ringcast
