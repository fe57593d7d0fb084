#pragma once
// Real Redis for tests: RedisServer, one redis-server on a free loopback port (or on a host of a
// network lab, tests/support/network_lab.hpp, through RedisHost), and RedisCluster, N
// primaries with R replicas each (default 3×1) in cluster mode, created with `redis-cli --cluster
// create` and ready once every node says cluster_state:ok, they agree on who serves each slot and
// every replica is in sync. Both take RedisOptions for a password (requirepass), an ACL user and
// TLS (the test certificate of tls_test_support.hpp). Fault operations for tests: kill -9 a node,
// SIGSTOP/SIGCONT it, wait for its replica to take over (cluster-node-timeout 1000 ms: about 2 s),
// migrate a slot by steps (for MOVED and ASK), and send any command to any node (BlockingRedis).
//
// Processes get SIGKILL when the test process dies (PR_SET_PDEATHSIG), and when their fixture goes,
// whatever the test's outcome; data and logs live in a temporary directory removed at the end.
// Tests call require_redis() first: without redis-server they skip, or fail when CI=true.
//
// Threads: a fixture is driven by the test's thread; BlockingRedis connections are its own.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/net/redis/detail/resp_parser.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/required_program.hpp"
#include "tests/support/test_process.hpp"
#include "tests/support/tls_test_support.hpp"

namespace ringcast::test {

inline constexpr const char* kRedisServer = "/usr/bin/redis-server";
inline constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// True when redis-server and redis-cli are installed. Otherwise the test is skipped with a message,
// or fails when CI=true (a CI machine must have them: scripts/setup installs redis-server).
inline bool require_redis() {
  return require_program(kRedisServer, "scripts/setup installs redis-server") &&
         require_program(kRedisCli, "scripts/setup installs redis-server (redis-cli comes with it)");
}

// A loopback port nobody listens on right now.
inline uint16_t free_port() {
  uint16_t port = 0;
  const int fd = listen_loopback(port, 1);
  if (fd >= 0) ::close(fd);
  return port;
}

// One reply, copied out of the parser.
struct RedisReply {
  RespType type = RespType::null;
  std::string text;
  int64_t integer = 0;
  std::vector<RedisReply> elements;
  bool received = false;  // false: no reply (connection failed or timed out)

  bool is_error() const noexcept { return type == RespType::error; }
  static RedisReply copy(const RespParser& p, const RespValue& v) {
    RedisReply r{v.type, std::string(v.text), v.integer, {}, true};
    if (v.type == RespType::array) {
      for (int64_t i = 0; i < v.integer; ++i) r.elements.push_back(copy(p, p.child(v, static_cast<size_t>(i))));
    }
    return r;
  }
};

// How a test Redis is set up and logged in to.
struct RedisOptions {
  std::string password;       // requirepass (and masterauth in a cluster)
  std::string acl_user;       // an ACL user with every permission, logging in with acl_password
  std::string acl_password;
  bool tls = false;           // TLS only (the plain port is off), with the test certificate
  std::string cert_file;      // TLS: empty for the test certificate
  std::string key_file;
};

// A blocking RESP connection to a test Redis, plain or TLS (trusting the server's own certificate,
// whatever name it carries), logged in as the options say (the ACL user when there is one).
class BlockingRedis {
 public:
  BlockingRedis(uint16_t port, const RedisOptions& options, int timeout_ms = 5000)
      : BlockingRedis("127.0.0.1", port, options, timeout_ms) {}
  // To `host` (an IPv4 address).
  BlockingRedis(const std::string& host, uint16_t port, const RedisOptions& options, int timeout_ms = 5000) {
    fd_ = connect_blocking(host, port);
    if (fd_ < 0) return;
    set_recv_timeout(fd_, timeout_ms);
    if (options.tls) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      const std::string& ca = options.cert_file.empty() ? test_certificate().cert : options.cert_file;
      SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      if (SSL_connect(ssl_) != 1) {
        close();
        return;
      }
    }
    if (!options.acl_user.empty()) {
      ok_ = command({"AUTH", options.acl_user, options.acl_password}).text == "OK";
    } else if (!options.password.empty()) {
      ok_ = command({"AUTH", options.password}).text == "OK";
    } else {
      ok_ = true;
    }
  }
  ~BlockingRedis() { close(); }
  BlockingRedis(const BlockingRedis&) = delete;
  BlockingRedis& operator=(const BlockingRedis&) = delete;

  // Connected (and logged in).
  bool ok() const noexcept { return ok_; }

  bool send(const std::string& bytes) {
    if (fd_ < 0) return false;
    if (ssl_) {
      size_t done = 0;
      return SSL_write_ex(ssl_, bytes.data(), bytes.size(), &done) == 1 && done == bytes.size();
    }
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // The next reply (received == false on a timeout or a closed connection).
  RedisReply read() {
    while (fd_ >= 0) {
      if (!in_.empty() && parser_.parse(in_) == RespParser::Status::complete) {
        RedisReply r = RedisReply::copy(parser_, parser_.root());
        in_.erase(0, parser_.consumed());
        return r;
      }
      char buf[16384];
      size_t got = 0;
      if (ssl_) {
        if (SSL_read_ex(ssl_, buf, sizeof buf, &got) != 1) break;
      } else {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        got = static_cast<size_t>(n);
      }
      in_.append(buf, got);
    }
    return {};
  }
  template <typename Args>
  RedisReply command_of(const Args& args) {
    return send(resp_command_of(args)) ? read() : RedisReply{};
  }
  RedisReply command(std::initializer_list<std::string_view> args) { return command_of(args); }

 private:
  void close() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    fd_ = -1;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  std::string in_;
  RespParser parser_;
};

namespace detail {

inline std::string make_temp_dir(const char* what) {
  std::string tmpl = fmt::format("/tmp/ringcast-{}-XXXXXX", what);
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  return tmpl;
}

}  // namespace detail

// Where a test Redis runs: its address and port, and the command line it runs behind (a network
// namespace's `ip netns exec NAME`, tests/support/network_lab.hpp). By default a free port on
// 127.0.0.1, in the test's own namespace.
struct RedisHost {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                  // 0: a free loopback port
  std::vector<std::string> launcher;  // put before redis-server's own command line
};

// One redis-server (no persistence), killed with the test process: on a free loopback port, or where
// a RedisHost says.
class RedisServer {
 public:
  // `extra`: more redis-server arguments (a cluster node's, say). `dir`: where its log (and cluster
  // state) go; empty: a temporary directory of its own.
  explicit RedisServer(RedisOptions options = {}, std::vector<std::string> extra = {}, std::string dir = {},
                       RedisHost host = {})
      : options_(std::move(options)), extra_(std::move(extra)), host_(std::move(host)),
        port_(host_.port != 0 ? host_.port : free_port()) {
    if (dir.empty()) {
      dir_ = detail::make_temp_dir("redis");
      own_dir_ = true;
    } else {
      dir_ = std::move(dir);
    }
    if (options_.tls && options_.cert_file.empty()) {
      options_.cert_file = test_certificate().cert;
      options_.key_file = test_certificate().key;
    }
    start();
  }
  ~RedisServer() {
    kill();
    if (own_dir_) std::filesystem::remove_all(dir_);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  const std::string& address() const noexcept { return host_.address; }
  const RedisOptions& options() const noexcept { return options_; }
  const std::string& dir() const noexcept { return dir_; }
  bool running() const noexcept { return process_ != nullptr; }
  // redis[s]://[credentials@]address:port[/prefix], logged in as the options say.
  std::string url(std::string_view prefix = "") const {
    std::string credentials;
    if (!options_.acl_user.empty()) {
      credentials = fmt::format("{}:{}@", options_.acl_user, options_.acl_password);
    } else if (!options_.password.empty()) {
      credentials = fmt::format(":{}@", options_.password);
    }
    const std::string base =
        fmt::format("{}://{}{}:{}", options_.tls ? "rediss" : "redis", credentials, host_.address, port_);
    const std::string query = options_.tls ? "?ca_file=" + options_.cert_file : "";
    return prefix.empty() ? base + query : fmt::format("{}/{}{}", base, prefix, query);
  }

  // Starts it (again, on the same port: empty unless it is a cluster node, which keeps its
  // nodes.conf) and waits until it answers PING.
  void start() {
    std::vector<std::string> argv = host_.launcher;
    argv.insert(argv.end(), {kRedisServer, "--bind", host_.address, "--save", "", "--appendonly", "no", "--daemonize",
                             "no", "--dir", dir_, "--logfile", log_path()});
    // Clients from other hosts are let in without a password (protected mode admits only loopback).
    if (host_.address != "127.0.0.1") argv.insert(argv.end(), {"--protected-mode", "no"});
    if (options_.tls) {
      argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                               options_.cert_file, "--tls-key-file", options_.key_file, "--tls-ca-cert-file",
                               options_.cert_file, "--tls-auth-clients", "no"});
    } else {
      argv.insert(argv.end(), {"--port", std::to_string(port_)});
    }
    if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
    if (!options_.acl_user.empty()) {
      argv.insert(argv.end(), {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*", "&*", "+@all"});
    }
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<ChildProcess>(argv, ChildOptions{.death_signal = SIGKILL});
    const bool up = eventually([&] { return command({"PING"}).text == "PONG"; }, std::chrono::seconds(10));
    if (!up) FAIL("redis-server on " << host_.address << ":" << port_ << " did not come up; its log:\n" << log_tail());
  }
  // kill -9 (harmless when it is not running).
  void kill() {
    if (!process_) return;
    process_->stop(SIGKILL);
    process_.reset();
  }
  void pause() { if (process_ && process_->running()) ::kill(process_->pid(), SIGSTOP); }
  void resume() { if (process_ && process_->running()) ::kill(process_->pid(), SIGCONT); }

  // One command on a new connection; received == false when it is unreachable.
  RedisReply command(std::initializer_list<std::string_view> args, int timeout_ms = 5000) const {
    BlockingRedis c(host_.address, port_, options_, timeout_ms);
    return c.ok() ? c.command(args) : RedisReply{};
  }
  template <typename Args>
  RedisReply command_of(const Args& args, int timeout_ms = 5000) const {
    BlockingRedis c(host_.address, port_, options_, timeout_ms);
    return c.ok() ? c.command_of(args) : RedisReply{};
  }
  // Subscribers of a channel, as Redis counts them (one per connection that subscribed).
  int64_t subscribers(std::string_view channel) const {
    const RedisReply r = command({"PUBSUB", "NUMSUB", channel});
    return r.elements.size() == 2 ? r.elements[1].integer : -1;
  }
  // The line of `INFO section` that starts with `key:`, without the key ("" when absent).
  std::string info(std::string_view section, std::string_view key) const {
    const RedisReply r = command({"INFO", section});
    const std::string needle = std::string(key) + ":";
    std::istringstream in(r.text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(needle, 0) == 0) {
        line = line.substr(needle.size());
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
    }
    return {};
  }
  // The last lines of its log, for a failure message.
  std::string log_tail(size_t lines = 30) const {
    std::ifstream in(log_path());
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
    return out;
  }
  // The redis-cli command line that reaches it (for a test's own use of redis-cli).
  std::string cli() const {
    std::string c = fmt::format("{} -h {} -p {} --no-auth-warning", kRedisCli, host_.address, port_);
    if (options_.tls) c += fmt::format(" --tls --cacert {}", options_.cert_file);
    if (!options_.acl_user.empty()) {
      c += fmt::format(" --user {} --pass {}", options_.acl_user, options_.acl_password);
    } else if (!options_.password.empty()) {
      c += fmt::format(" -a {}", options_.password);
    }
    return c;
  }

 private:
  std::string log_path() const { return fmt::format("{}/redis-{}-{}.log", dir_, host_.address, port_); }

  RedisOptions options_;
  std::vector<std::string> extra_;
  RedisHost host_;
  uint16_t port_;
  std::string dir_;
  bool own_dir_ = false;
  std::unique_ptr<ChildProcess> process_;
};

struct ClusterOptions {
  int primaries = 3;
  int replicas = 1;                 // per primary
  RedisOptions redis;               // for every node (a password is also each replica's masterauth)
  int node_timeout_ms = 1000;       // cluster-node-timeout: a failover takes about twice this
  std::vector<RedisHost> hosts;     // where each node runs (one per node); empty: loopback ports
};

// A Redis Cluster on loopback ports, or on the hosts ClusterOptions names. Node i is redis-server i; which are primaries changes with
// failovers (primaries(), replica_of()). Slots are spread by redis-cli: 0-5460, 5461-10922,
// 10923-16383 for three primaries.
class RedisCluster {
 public:
  static constexpr int kSlots = 16384;

  explicit RedisCluster(ClusterOptions options = {}) : options_(std::move(options)) {
    dir_ = detail::make_temp_dir("redis-cluster");
    const int n = options_.primaries * (1 + options_.replicas);
    if (!options_.hosts.empty()) REQUIRE(options_.hosts.size() == static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const RedisHost host = options_.hosts.empty() ? RedisHost{} : options_.hosts[static_cast<size_t>(i)];
      std::vector<std::string> extra = {"--cluster-enabled", "yes", "--cluster-config-file", fmt::format("nodes-{}.conf", i),
                                        "--cluster-node-timeout", std::to_string(options_.node_timeout_ms),
                                        // A replica's first sync starts at once, not after 5 s of waiting for others.
                                        "--repl-diskless-sync-delay", "0"};
      // On loopback every node's bus needs a free port of its own; a host of its own has port+10000.
      if (options_.hosts.empty()) extra.insert(extra.end(), {"--cluster-port", std::to_string(free_port())});
      if (!options_.redis.password.empty()) extra.insert(extra.end(), {"--masterauth", options_.redis.password});
      if (!options_.redis.acl_user.empty()) {
        extra.insert(extra.end(), {"--masteruser", options_.redis.acl_user, "--masterauth", options_.redis.acl_password});
      }
      if (options_.redis.tls) extra.insert(extra.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
      nodes_.push_back(std::make_unique<RedisServer>(options_.redis, extra, dir_, host));
    }
    std::string cmd = nodes_[0]->cli() + " --cluster create";
    for (auto& node : nodes_) cmd += fmt::format(" {}:{}", node->address(), node->port());
    cmd += fmt::format(" --cluster-replicas {} --cluster-yes 2>&1", options_.replicas);
    std::string output;
    if (run_command(cmd, output) != 0) FAIL("redis-cli --cluster create failed:\n" << output);
    for (size_t i = 0; i < nodes_.size(); ++i) ids_.push_back(nodes_[i]->command({"CLUSTER", "MYID"}).text);
    if (!wait_until_stable(std::chrono::seconds(30))) FAIL("the cluster did not settle:\n" << describe());
  }
  ~RedisCluster() {
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  size_t size() const noexcept { return nodes_.size(); }
  RedisServer& node(size_t i) { return *nodes_[i]; }
  const std::string& id(size_t i) const { return ids_[i]; }
  uint16_t port(size_t i) const { return nodes_[i]->port(); }
  const std::string& address(size_t i) const { return nodes_[i]->address(); }
  // The URL of node 0, for a client to find the rest from.
  std::string seed_url(std::string_view prefix = "") const { return nodes_[0]->url(prefix); }
  RedisReply command(size_t i, std::initializer_list<std::string_view> args) const { return nodes_[i]->command(args); }
  template <typename Args>
  RedisReply command_of(size_t i, const Args& args) const {
    return nodes_[i]->command_of(args);
  }
  // Running and not paused: it answers.
  bool alive(size_t i) const { return nodes_[i]->running() && !paused_.count(i); }

  // The node serving `slot`, as the live nodes see it (-1 when they do not agree or nobody does).
  int primary_of(int slot) const {
    const auto map = slot_map();
    if (!map) return -1;
    for (const auto& [range, primary] : *map) {
      if (slot >= range.first && slot <= range.second) return primary;
    }
    return -1;
  }
  // The nodes that serve slots now, in slot order.
  std::vector<int> primaries() const {
    std::vector<int> out;
    if (const auto map = slot_map()) {
      for (const auto& [range, primary] : *map) {
        if (std::find(out.begin(), out.end(), primary) == out.end()) out.push_back(primary);
      }
    }
    return out;
  }
  // The replicas of primary `p`, by what each live replica says it follows.
  std::vector<int> replicas_of(int p) const {
    std::vector<int> out;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (alive(i) && static_cast<int>(i) != p && nodes_[i]->info("replication", "role") == "slave" &&
          nodes_[i]->info("replication", "master_host") == address(static_cast<size_t>(p)) &&
          nodes_[i]->info("replication", "master_port") == std::to_string(port(static_cast<size_t>(p)))) {
        out.push_back(static_cast<int>(i));
      }
    }
    return out;
  }
  // A key (or channel) that hashes to a slot primary `p` serves: `{kN}rest`, as Redis computes it
  // (CLUSTER KEYSLOT), `skip` such keys passed over first.
  std::string key_on(int p, std::string_view rest = "", int skip = 0) const {
    const auto map = slot_map();
    REQUIRE(map);
    BlockingRedis c(address(static_cast<size_t>(p)), port(static_cast<size_t>(p)), options_.redis);
    for (int i = 0; i < 100000; ++i) {
      std::string key = fmt::format("{{k{}}}{}", i, rest);
      const int64_t slot = c.command({"CLUSTER", "KEYSLOT", key}).integer;
      for (const auto& [range, primary] : *map) {
        if (slot >= range.first && slot <= range.second && primary == p && skip-- == 0) return key;
      }
    }
    FAIL("no key hashes to a slot of node " << p);
    return {};
  }
  // The slot of `key`, as Redis computes it.
  int slot_of(std::string_view key) const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (alive(i)) return static_cast<int>(command(i, {"CLUSTER", "KEYSLOT", key}).integer);
    }
    return -1;
  }

  // ---- Faults ----
  void kill(size_t i) { nodes_[i]->kill(); }
  void pause(size_t i) {
    nodes_[i]->pause();
    paused_.insert(i);
  }
  void resume(size_t i) {
    nodes_[i]->resume();
    paused_.erase(i);
  }
  // After primary `dead` was killed or paused: waits until one of its replicas serves its slots and
  // every live node agrees; returns that replica (-1 on a timeout).
  int wait_for_failover(int dead, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    int promoted = -1;
    const bool ok = poll_until(
        [&] {
          const auto ps = primaries();
          for (int r : replicas_[dead]) {
            if (std::find(ps.begin(), ps.end(), r) != ps.end()) promoted = r;
          }
          return promoted >= 0 && stable();
        },
        limit);
    if (!ok) return -1;
    remember_replicas();
    return promoted;
  }

  // ---- Slot migration, by steps (MOVED and ASK while it goes on) ----
  // `to` imports `slot`, `from` migrates it: keys not yet moved are served by `from`, the others
  // are answered with ASK.
  void begin_migration(int slot, int from, int to) {
    const std::string s = std::to_string(slot);
    CHECK(command(static_cast<size_t>(to), {"CLUSTER", "SETSLOT", s, "IMPORTING", id(static_cast<size_t>(from))}).text == "OK");
    CHECK(command(static_cast<size_t>(from), {"CLUSTER", "SETSLOT", s, "MIGRATING", id(static_cast<size_t>(to))}).text == "OK");
  }
  // Moves `keys` of `slot` from `from` to `to` (MIGRATE).
  void migrate_keys(int from, int to, const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"MIGRATE", address(static_cast<size_t>(to)), std::to_string(port(static_cast<size_t>(to))),
                                     "", "0", "5000"};
    if (!options_.redis.acl_user.empty()) {
      args.insert(args.end(), {"AUTH2", options_.redis.acl_user, options_.redis.acl_password});
    } else if (!options_.redis.password.empty()) {
      args.insert(args.end(), {"AUTH", options_.redis.password});
    }
    args.push_back("KEYS");
    args.insert(args.end(), keys.begin(), keys.end());
    const RedisReply r = command_of(static_cast<size_t>(from), args);
    CHECK_MESSAGE(r.text == "OK", "MIGRATE: " << r.text);
  }
  // Every key still in `slot` on `from` moves to `to`.
  void migrate_all_keys(int slot, int from, int to) {
    for (;;) {
      const RedisReply r = command(static_cast<size_t>(from), {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "1000"});
      if (r.elements.empty()) return;
      std::vector<std::string> keys;
      for (const auto& k : r.elements) keys.push_back(k.text);
      migrate_keys(from, to, keys);
    }
  }
  // `to` serves `slot` from now on: every primary is told, and the test waits until all agree.
  void finish_migration(int slot, int to) {
    const std::string s = std::to_string(slot);
    for (int p : primaries()) command(static_cast<size_t>(p), {"CLUSTER", "SETSLOT", s, "NODE", id(static_cast<size_t>(to))});
    command(static_cast<size_t>(to), {"CLUSTER", "SETSLOT", s, "NODE", id(static_cast<size_t>(to))});
    CHECK(poll_until([&] { return primary_of(slot) == to && stable(); }, std::chrono::seconds(20)));
  }
  // All three steps at once.
  void move_slot(int slot, int to) {
    const int from = primary_of(slot);
    REQUIRE(from >= 0);
    begin_migration(slot, from, to);
    migrate_all_keys(slot, from, to);
    finish_migration(slot, to);
  }

  // Every live node says cluster_state:ok, they agree on who serves every slot, and every live
  // replica's link to its primary is up.
  bool stable() const {
    std::optional<std::string> seen;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive(i)) continue;
      if (nodes_[i]->info("replication", "role") == "slave" &&
          nodes_[i]->info("replication", "master_link_status") != "up") {
        return false;
      }
      const RedisReply state = nodes_[i]->command({"CLUSTER", "INFO"});
      if (state.text.find("cluster_state:ok") == std::string::npos) return false;
      const std::string map = slots_text(i);
      if (map.empty() || (seen && *seen != map)) return false;
      seen = map;
    }
    return seen.has_value();
  }
  bool wait_until_stable(std::chrono::milliseconds limit) {
    const bool ok = poll_until([&] { return stable(); }, limit);
    if (ok) remember_replicas();
    return ok;
  }
  // Each node's view, for a failure message.
  std::string describe() const {
    std::string out;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      out += fmt::format("node {} {}:{} {}: {}\n", i, address(i), port(i), alive(i) ? "up" : "down",
                         alive(i) ? slots_text(i) : "");
    }
    return out;
  }

 private:
  // Like eventually(), at a pace that suits checks which open several connections each.
  template <typename Pred>
  static bool poll_until(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  void remember_replicas() {
    replicas_.clear();
    for (int p : primaries()) replicas_[p] = replicas_of(p);
  }

  using SlotMap = std::vector<std::pair<std::pair<int, int>, int>>;  // [first, last] → node

  // "first-last:address:port first-last:address:port …" as node i sees it, in slot order ("" when
  // unreachable).
  std::string slots_text(size_t i) const {
    const RedisReply r = nodes_[i]->command({"CLUSTER", "SLOTS"});
    if (!r.received || r.is_error()) return {};
    std::vector<std::tuple<int64_t, int64_t, std::string, int64_t>> ranges;
    for (const auto& e : r.elements) {
      if (e.elements.size() < 3 || e.elements[2].elements.size() < 2) return {};
      ranges.emplace_back(e.elements[0].integer, e.elements[1].integer, e.elements[2].elements[0].text,
                          e.elements[2].elements[1].integer);
    }
    std::sort(ranges.begin(), ranges.end());
    std::string out;
    int64_t covered = 0;
    for (const auto& [first, last, host, p] : ranges) {
      out += fmt::format("{}-{}:{}:{} ", first, last, host, p);
      covered += last - first + 1;
    }
    return covered == kSlots ? out : std::string();
  }
  std::optional<SlotMap> slot_map() const {
    std::optional<std::string> text;
    for (size_t i = 0; i < nodes_.size() && !text; ++i) {
      if (alive(i)) text = slots_text(i);
    }
    if (!text || text->empty()) return std::nullopt;
    SlotMap map;
    std::istringstream in(*text);
    for (std::string item; in >> item;) {
      int first = 0, last = 0, p = 0;
      char host[64] = {};
      if (std::sscanf(item.c_str(), "%d-%d:%63[^:]:%d", &first, &last, host, &p) != 4) return std::nullopt;
      int node = -1;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (port(i) == p && address(i) == host) node = static_cast<int>(i);
      }
      map.push_back({{first, last}, node});
    }
    return map;
  }

  ClusterOptions options_;
  std::string dir_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::string> ids_;
  std::map<int, std::vector<int>> replicas_;  // primary → its replicas when last stable
  std::set<size_t> paused_;
};

}  // namespace ringcast::test
