#pragma once
// FaultCluster: a ringcast cluster on hosts of its own, for the fault tests — a Redis Cluster of 3
// primaries with a replica each, every Redis node in its own network namespace (port 6379), and 3
// ringcast-chat nodes (port 8080), each in its own namespace too, on this run's backend, with a
// ringcast-echo (port 9001, live rooms) beside it when asked. All of it on one NetworkLab
// (network_lab.hpp): the test's clients reach every node over the bridge, and a chat host's cable can
// be pulled. The nodes probe their Redis deliveries every kProbeInterval and give up after
// kProbeTimeout (--broker-probe-interval-ms, --broker-probe-timeout-ms), so GET /ready follows a
// fault within about a second; the Redis Cluster fails over in about 3 s (cluster-node-timeout 1500).
//
// Threads: driven by the test's thread (ready_from_inside runs on a thread the test moved into a
// host's namespace).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/chat_connection.hpp"
#include "tests/support/network_lab.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_process.hpp"

namespace ringcast::test {

struct FaultClusterOptions {
  bool echo = false;  // a ringcast-echo (live rooms) beside each chat node
  // Chat nodes serve /ready and /metrics on a listener of their own (kMetricsPort): what still answers
  // once a draining node has closed its main port.
  bool metrics_listener = false;
  std::vector<std::string> chat_flags;  // more flags for every chat node (--drain-window 2)
};

class FaultCluster {
 public:
  static constexpr int kRedisNodes = 6;
  static constexpr int kChatNodes = 3;
  static constexpr uint16_t kRedisPort = 6379;
  static constexpr uint16_t kChatPort = 8080;
  static constexpr uint16_t kEchoPort = 9001;
  static constexpr uint16_t kMetricsPort = 9100;
  static constexpr std::chrono::milliseconds kProbeInterval{200};
  static constexpr std::chrono::milliseconds kProbeTimeout{1000};
  // cluster-node-timeout: a failover takes about twice this; shorter, a node of a loaded machine that
  // is late to answer is taken for dead.
  static constexpr int kRedisNodeTimeoutMs = 1500;

  explicit FaultCluster(FaultClusterOptions options = {})
      : chat_metrics_port_(options.metrics_listener ? kMetricsPort : kChatPort) {
    ClusterOptions redis_options{.node_timeout_ms = kRedisNodeTimeoutMs};
    for (int i = 0; i < kRedisNodes; ++i) {
      const size_t h = lab_.add_host();
      redis_options.hosts.push_back({lab_.address(h), kRedisPort, lab_.launcher(h)});
    }
    for (int i = 0; i < kChatNodes; ++i) chat_hosts_.push_back(lab_.add_host());
    redis_ = std::make_unique<RedisCluster>(redis_options);
    for (int n = 0; n < kChatNodes; ++n) {
      std::vector<std::string> flags = {"--users", chat_users_file(), "--login-failures", "0"};
      if (options.metrics_listener) {
        flags.insert(flags.end(), {"--metrics-host", address(n), "--metrics-port", std::to_string(kMetricsPort)});
      }
      flags.insert(flags.end(), options.chat_flags.begin(), options.chat_flags.end());
      chats_.push_back(start(n, "bin/ringcast-chat", kChatPort, "chat/", flags));
      if (options.echo) echos_.push_back(start(n, "bin/ringcast-echo", kEchoPort, "echo/", {}));
    }
    for (int n = 0; n < kChatNodes; ++n) {
      const bool ready = eventually([&] { return get(address(n), kChatPort, "/ready").status == 200; }, std::chrono::seconds(20));
      REQUIRE_MESSAGE(ready, "chat node ", n, " never became ready: ", get(address(n), kChatPort, "/ready").body);
    }
  }
  FaultCluster(const FaultCluster&) = delete;
  FaultCluster& operator=(const FaultCluster&) = delete;

  NetworkLab& lab() { return lab_; }
  RedisCluster& redis() { return *redis_; }
  // Chat node n's host in the lab, its address, whether it runs.
  size_t host(int n) const { return chat_hosts_.at(static_cast<size_t>(n)); }
  const std::string& address(int n) const { return lab_.address(host(n)); }
  bool chat_running(int n) const { return chats_.at(static_cast<size_t>(n)) != nullptr; }

  // kill -9 of chat node n.
  void kill_chat(int n) {
    auto& node = chats_.at(static_cast<size_t>(n));
    REQUIRE(node);
    ::kill(node->pid(), SIGKILL);
    node->stop();  // reaps it
    node.reset();
  }
  // SIGTERM to chat node n: it drains (--drain-window). From then on it counts as not running, so tabs
  // reconnect to the others; its process is returned, to watch until it exits.
  std::unique_ptr<ServerProcess> drain_chat(int n) {
    auto& node = chats_.at(static_cast<size_t>(n));
    REQUIRE(node);
    node->signal(SIGTERM);
    return std::move(node);
  }
  // The port where chat nodes serve /metrics (and /ready besides their main port).
  uint16_t chat_metrics_port() const { return chat_metrics_port_; }

  // The primary that holds durable room `room` of the chat (its log's keys), -1 when none does yet.
  int primary_of_chat_room(const std::string& room) {
    for (int p : redis_->primaries()) {
      if (!redis_->command(static_cast<size_t>(p), {"KEYS", "chat/*m:" + room}).elements.empty()) return p;
    }
    return -1;
  }

  // The sum over chat (or, given kEchoPort, echo) node n's shards of metric `name` ("broker_lost_total").
  uint64_t metric(int n, std::string_view name, uint16_t port = 0) const {
    uint64_t sum = 0;
    for (uint64_t v : metric_by_shard(get(address(n), port != 0 ? port : chat_metrics_port_, "/metrics").body, name)) sum += v;
    return sum;
  }
  // Each shard's latest probe round trip through Redis on chat node n, in ms.
  std::vector<double> probe_round_trips_ms(int n) const {
    const std::string text = get(address(n), chat_metrics_port_, "/metrics").body;
    const std::string key = "\nringcast_redis_probe_round_trip_seconds{shard=\"";
    std::vector<double> out;
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
      const size_t space = text.find(' ', at + 1);
      out.push_back(std::strtod(text.c_str() + space + 1, nullptr) * 1000);
    }
    return out;
  }

  // GET /ready of chat node n asked from its own namespace (works while its cable is out): true
  // for 200. Call only on a thread that lab().enter(host(n)) moved there.
  bool ready_from_inside(int n) const {
    return ask_once(address(n), kChatPort, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200;
  }

  // The end of chat node n's output, for a failure message.
  std::string chat_output(int n) {
    auto& node = chats_.at(static_cast<size_t>(n));
    if (!node) return "(not running)";
    const std::string& out = node->output();
    return out.size() > 3000 ? out.substr(out.size() - 3000) : out;
  }

 private:
  std::unique_ptr<ServerProcess> start(int n, const char* program, uint16_t port, const char* prefix,
                                       std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        binary_path(program), "--host", address(n), "--port", std::to_string(port), "--shards", "2",
        "--broker", fmt::format("redis://{}:{}/{}", redis_->address(0), kRedisPort, prefix),
        "--broker-probe-interval-ms", std::to_string(kProbeInterval.count()),
        "--broker-probe-timeout-ms", std::to_string(kProbeTimeout.count())};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::vector<std::string> backend = backend_flags();
    argv.insert(argv.end(), backend.begin(), backend.end());
    auto node = std::make_unique<ServerProcess>(lab_.run(host(n), argv));
    REQUIRE_MESSAGE(node->port() == port, program, " on ", address(n), " did not start: ", node->output());
    return node;
  }

  uint16_t chat_metrics_port_;
  NetworkLab lab_;  // first made, last gone: its teardown kills whatever the rest left running
  std::vector<size_t> chat_hosts_;
  std::unique_ptr<RedisCluster> redis_;
  std::vector<std::unique_ptr<ServerProcess>> chats_;  // null once killed
  std::vector<std::unique_ptr<ServerProcess>> echos_;
};

}  // namespace ringcast::test
