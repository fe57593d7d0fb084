// What RedisCluster reads from Redis about the cluster: CLUSTER SHARDS as Redis 7 answers it (right
// after creation, after a failover, with TLS) and MOVED / ASK redirections.
#include <ringcast/net/redis/detail/cluster_topology.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

using namespace ringcast;

namespace {

// RESP of a CLUSTER SHARDS answer: shards of (slot ranges, nodes of (field, value) pairs).
struct NodeText {
  std::string id, ip, role, health;
  int port = 0, tls_port = 0;
  std::string hostname;
};

// (fmt rather than + on strings: GCC 12 warns wrongly about the latter, -Wrestrict.)
std::string bulk(const std::string& s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }
std::string integer(long v) { return fmt::format(":{}\r\n", v); }
std::string array(size_t n) { return fmt::format("*{}\r\n", n); }

std::string shards(const std::vector<std::pair<std::vector<int>, std::vector<NodeText>>>& all) {
  std::string out = array(all.size());
  for (const auto& [slots, nodes] : all) {
    out += array(4);
    out += bulk("slots");
    out += array(slots.size());
    for (int s : slots) out += integer(s);
    out += bulk("nodes");
    out += array(nodes.size());
    for (const NodeText& n : nodes) {
      std::vector<std::string> fields = {bulk("id"), bulk(n.id)};
      if (n.port) fields.insert(fields.end(), {bulk("port"), integer(n.port)});
      if (n.tls_port) fields.insert(fields.end(), {bulk("tls-port"), integer(n.tls_port)});
      fields.insert(fields.end(), {bulk("ip"), bulk(n.ip), bulk("endpoint"), bulk(n.ip)});
      if (!n.hostname.empty()) fields.insert(fields.end(), {bulk("hostname"), bulk(n.hostname)});
      fields.insert(fields.end(), {bulk("role"), bulk(n.role), bulk("replication-offset"), integer(0), bulk("health"), bulk(n.health)});
      out += array(fields.size());
      for (const std::string& f : fields) out += f;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cluster topology: each shard's slot ranges go to its online primary; shards without slots are left out") {
  const std::string text = shards({
      {{0, 5460}, {{"a", "127.0.0.1", "master", "online", 7000}, {"d", "127.0.0.1", "replica", "loading", 7003}}},
      {{}, {{"x", "127.0.0.1", "master", "fail", 7009}}},  // a replaced primary, listed alone
      {{5461, 10922, 16000, 16383}, {{"e", "127.0.0.1", "replica", "online", 7004}, {"b", "127.0.0.1", "master", "online", 7001}}},
      {{10923, 15999}, {{"c", "127.0.0.1", "master", "fail", 7002}, {"f", "::1", "master", "online", 7005, 0, "node-f.example"}}},
  });
  RespParser p;
  REQUIRE(p.parse(text) == RespParser::Status::complete);
  ClusterTopology t;
  std::string why;
  REQUIRE_MESSAGE(parse_cluster_shards(p, p.root(), false, t, why), why);
  REQUIRE(t.nodes.size() == 3);
  CHECK(t.nodes[0].port == 7000);
  CHECK(t.nodes[1].port == 7001);
  CHECK(t.nodes[2].port == 7005);  // of two masters (a failover under way), the online one
  CHECK(t.nodes[2].ip == "::1");
  CHECK(t.nodes[2].hostname == "node-f.example");
  REQUIRE(t.ranges.size() == 4);
  CHECK(t.ranges[0].first == 0);
  CHECK(t.ranges[0].last == 5460);
  CHECK(t.ranges[0].node == 0);
  CHECK(t.ranges[2].first == 16000);
  CHECK(t.ranges[2].node == 1);
  CHECK(t.ranges[3].node == 2);
}

TEST_CASE("cluster topology: with TLS the tls-port is the one to use; malformed answers are refused") {
  const std::string text = shards({{{0, 16383}, {{"a", "10.0.0.1", "master", "online", 0, 7443}}}});
  RespParser p;
  REQUIRE(p.parse(text) == RespParser::Status::complete);
  ClusterTopology t;
  std::string why;
  REQUIRE(parse_cluster_shards(p, p.root(), true, t, why));
  CHECK(t.nodes[0].port == 7443);
  CHECK_FALSE(parse_cluster_shards(p, p.root(), false, t, why));  // no plain port announced
  CHECK(why.find("port") != std::string::npos);
  for (std::string bad : {std::string("+OK\r\n"), shards({{{0, 16384}, {{"a", "10.0.0.1", "master", "online", 7000}}}}),
                          shards({{{5, 4}, {{"a", "10.0.0.1", "master", "online", 7000}}}})}) {
    CAPTURE(bad);
    REQUIRE(p.parse(bad) == RespParser::Status::complete);
    CHECK_FALSE(parse_cluster_shards(p, p.root(), false, t, why));
  }
}

TEST_CASE("cluster topology: MOVED and ASK give the slot and the address; anything else is not a redirection") {
  Redirect r;
  REQUIRE(parse_redirect("MOVED 3999 127.0.0.1:6381", r));
  CHECK_FALSE(r.ask);
  CHECK(r.slot == 3999);
  CHECK(r.host == "127.0.0.1");
  CHECK(r.port == 6381);
  REQUIRE(parse_redirect("ASK 12182 ::1:7002", r));
  CHECK(r.ask);
  CHECK(r.host == "::1");
  CHECK(r.port == 7002);
  REQUIRE(parse_redirect("MOVED 1 :7003", r));  // the endpoint is unknown: the node that answered
  CHECK(r.host.empty());
  for (std::string_view bad : {"ERR unknown command", "MOVED", "MOVED 16384 127.0.0.1:6381", "MOVED x 127.0.0.1:6381",
                               "MOVED 1 127.0.0.1", "ASK 1 127.0.0.1:0", "CLUSTERDOWN The cluster is down"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_redirect(bad, r));
  }
}
