#pragma once
// What RedisCluster reads from Redis about the cluster's shape: the CLUSTER SHARDS reply (which
// primary serves which slots) and the MOVED / ASK redirections of the cluster specification.
// Pure functions of the reply's text; any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/net/redis/detail/resp_parser.hpp>

namespace ringcast {

struct ClusterTopology {
  struct Node {
    std::string ip;        // numeric: where to connect
    std::string hostname;  // announced name ("" when none): the TLS name, else the IP
    uint16_t port = 0;     // the TLS port when the client speaks TLS
    bool online = true;    // health "online" (a failed primary is still listed until replaced)
  };
  struct Range {
    uint16_t first;
    uint16_t last;
    uint32_t node;  // index into nodes
  };
  std::vector<Node> nodes;    // the primaries that serve slots
  std::vector<Range> ranges;  // in no particular order; slots in none are unserved
};

// Reads a CLUSTER SHARDS reply (Redis 7: an array of shards, each a flat list of "slots" → [first,
// last, …] and "nodes" → [[field, value, …], …]). Shards without slots (a replaced primary, a node
// still joining) are left out; of a shard's nodes the one whose role is "master" serves it,
// preferring one whose health is "online". False, with `why`, when the reply is not of that shape.
bool parse_cluster_shards(const RespParser& p, const RespValue& reply, bool tls, ClusterTopology& out, std::string& why);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (the host may be empty: ":6381", the
// node that answered). False for any other error text.
struct Redirect {
  bool ask = false;
  uint16_t slot = 0;
  std::string_view host;
  uint16_t port = 0;
};
bool parse_redirect(std::string_view error, Redirect& out) noexcept;

}  // namespace ringcast
