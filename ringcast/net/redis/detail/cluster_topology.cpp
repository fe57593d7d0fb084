#include <ringcast/net/redis/detail/cluster_topology.hpp>

#include <charconv>

#include <ringcast/net/redis/key_slot.hpp>

namespace ringcast {
namespace {

// The value after `key` in a flat [key, value, …] array, or nullptr.
const RespValue* field(const RespParser& p, const RespValue& map, std::string_view key) {
  if (map.type != RespType::array) return nullptr;
  for (int64_t i = 0; i + 1 < map.integer; i += 2) {
    const RespValue& k = p.child(map, static_cast<size_t>(i));
    if ((k.type == RespType::bulk || k.type == RespType::simple) && k.text == key) return &p.child(map, static_cast<size_t>(i + 1));
  }
  return nullptr;
}

std::string_view text(const RespValue* v) {
  return v && (v->type == RespType::bulk || v->type == RespType::simple) ? v->text : std::string_view();
}

template <typename T>
bool to_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

bool parse_cluster_shards(const RespParser& p, const RespValue& reply, bool tls, ClusterTopology& out, std::string& why) {
  out = ClusterTopology{};
  if (reply.type != RespType::array) {
    why = "CLUSTER SHARDS did not answer with an array";
    return false;
  }
  for (int64_t s = 0; s < reply.integer; ++s) {
    const RespValue& shard = p.child(reply, static_cast<size_t>(s));
    const RespValue* slots = field(p, shard, "slots");
    const RespValue* nodes = field(p, shard, "nodes");
    if (!slots || !nodes || slots->type != RespType::array || nodes->type != RespType::array || slots->integer % 2 != 0) {
      why = "a shard without slots and nodes";
      return false;
    }
    if (slots->integer == 0) continue;
    const RespValue* primary = nullptr;
    bool online = false;
    for (int64_t n = 0; n < nodes->integer; ++n) {
      const RespValue& node = p.child(*nodes, static_cast<size_t>(n));
      if (text(field(p, node, "role")) != "master") continue;
      const bool healthy = text(field(p, node, "health")) == "online";
      if (!primary || (healthy && !online)) {
        primary = &node;
        online = healthy;
      }
    }
    if (!primary) continue;  // its primary is being replaced: the next refresh will say by whom
    const RespValue* port = field(p, *primary, tls ? "tls-port" : "port");
    ClusterTopology::Node node{std::string(text(field(p, *primary, "ip"))), std::string(text(field(p, *primary, "hostname"))),
                               0, online};
    if (!port || port->type != RespType::integer || port->integer <= 0 || port->integer > 65535 || node.ip.empty()) {
      why = tls ? "a primary without ip and tls-port" : "a primary without ip and port";
      return false;
    }
    node.port = static_cast<uint16_t>(port->integer);
    const auto index = static_cast<uint32_t>(out.nodes.size());
    out.nodes.push_back(std::move(node));
    for (int64_t r = 0; r < slots->integer; r += 2) {
      const RespValue& first = p.child(*slots, static_cast<size_t>(r));
      const RespValue& last = p.child(*slots, static_cast<size_t>(r + 1));
      if (first.type != RespType::integer || last.type != RespType::integer || first.integer < 0 ||
          last.integer < first.integer || last.integer >= kRedisSlots) {
        why = "a slot range out of 0-16383";
        return false;
      }
      out.ranges.push_back({static_cast<uint16_t>(first.integer), static_cast<uint16_t>(last.integer), index});
    }
  }
  return true;
}

bool parse_redirect(std::string_view error, Redirect& out) noexcept {
  if (error.substr(0, 6) == "MOVED ") {
    out.ask = false;
    error.remove_prefix(6);
  } else if (error.substr(0, 4) == "ASK ") {
    out.ask = true;
    error.remove_prefix(4);
  } else {
    return false;
  }
  const size_t space = error.find(' ');
  const size_t colon = error.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) return false;
  unsigned slot = 0, port = 0;
  if (!to_number(error.substr(0, space), slot) || slot >= kRedisSlots) return false;
  if (!to_number(error.substr(colon + 1), port) || port == 0 || port > 65535) return false;
  out.slot = static_cast<uint16_t>(slot);
  out.host = error.substr(space + 1, colon - space - 1);
  out.port = static_cast<uint16_t>(port);
  return true;
}

}  // namespace ringcast
