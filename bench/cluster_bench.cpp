// cluster_bench: what a room costs when its members are spread over several nodes sharing a Redis —
// ringcast's live and durable rooms on one node, on three nodes on one Redis and (--redis-cluster) on
// a Redis Cluster, against Socket.IO with @socket.io/redis-adapter, the setup its users would run,
// measured in the same run with a room of the same shape.
//
// Everything is started here, on loopback: a redis-server (no persistence), with --redis-cluster also
// a Redis Cluster of 3 primaries with a replica each, and for each run fresh nodes —
// build/bin/ringcast-echo --shards 1 [--broker redis://…/PREFIX/] [--durable-rooms], or
// bench/peers/socketio/server.mjs [--redis URL] — driven by build/bin/ringcast-load --scenario
// broadcast (or, for Socket.IO, bench/peers/socketio/load.mjs): --members connections in one room,
// connection i on node i % nodes, the first --publishers publishing with --window of their own
// messages outstanding, every member checking each publisher's numbering. A run counts only when the
// load generator saw nothing lost, duplicated or reordered and exited 0.
//
// Per run: deliveries/s, p50/p99 latency, publishes/s; the nodes' CPU per delivery (/proc, the whole
// run); Redis commands per published message (INFO commandstats before and after, on the primaries,
// every command a script runs included) and Redis CPU per published message (used_cpu_sys +
// used_cpu_user, every Redis process, less what Redis spends idle). Socket.IO goes as fast as its
// windows let it, and ringcast's three-node rows run again at the publishes/s Socket.IO reached in
// the same round (ringcast-load --rate), for latency and CPU at equal load. Setups take turns round by
// round; each figure is the median of the setup's runs', so one run's outlier in one figure does not
// carry the others. Nothing is pinned: the load generator, the nodes and Redis share the machine's
// CPUs, which the output says.
//
//   build/bin/cluster_bench                                  about 4 minutes
//   build/bin/cluster_bench --rounds 1 --duration 3          a quick look
//   build/bin/cluster_bench --redis-cluster --table bench/results/cluster.md
#include <fmt/format.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_report.hpp"
#include "bench/load/process_stats.hpp"
#include <ringcast/core/cli.hpp>
#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// A loopback port nobody listens on right now.
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// The path of `name` on PATH ("" when absent): ChildProcess runs paths, not names.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string directory_of_this_program() {
  char self[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string path(self, n > 0 ? static_cast<size_t>(n) : 0);
  return path.substr(0, path.rfind('/'));
}

// ---------------------------------------------------------------------------------------------
// Redis: what the runs read from it.

// The figures of one Redis setup at one moment.
struct RedisSample {
  int64_t commands = 0;                  // calls of every command but INFO, on the primaries
  std::map<std::string, int64_t> calls;  // the same by command
  int64_t reads = 0;                     // reads from client sockets (total_reads_processed), on the primaries
  double cpu_seconds = 0;                // used_cpu_sys + used_cpu_user, every process
};

// One redis-server on a free loopback port, without persistence, SIGKILLed when this program ends.
class RedisProcess {
 public:
  RedisProcess(const std::string& dir, std::vector<std::string> extra) : port_(free_port()) {
    std::vector<std::string> argv = {kRedisServer, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--daemonize", "no", "--dir", dir, "--logfile",
                                     fmt::format("{}/redis-{}.log", dir, port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<test::ChildProcess>(argv, test::ChildOptions{.death_signal = SIGKILL});
  }
  ~RedisProcess() { process_->stop(SIGKILL); }

  uint16_t port() const noexcept { return port_; }
  // A redis-cli command's output ("" when it failed).
  std::string cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    const test::ProgramRun run = test::run_program(argv, {}, 30s);
    return run.status == 0 ? run.output : std::string();
  }
  bool wait_until_up() const {
    for (int i = 0; i < 200; ++i) {
      if (cli({"PING"}).starts_with("PONG")) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

 private:
  uint16_t port_;
  std::unique_ptr<test::ChildProcess> process_;
};

// The value of `key:` in INFO output ("" when absent).
std::string info_field(const std::string& info, std::string_view key) {
  const std::string needle = std::string(key) + ":";
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(needle)) {
      line.erase(0, needle.size());
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
  }
  return {};
}

// One redis-server, or a Redis Cluster of `primaries` primaries with one replica each.
class RedisSetup {
 public:
  static std::unique_ptr<RedisSetup> start(int primaries, std::string& problem) {
    auto setup = std::unique_ptr<RedisSetup>(new RedisSetup());
    const bool cluster = primaries > 0;
    const int n = cluster ? primaries * 2 : 1;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> extra;
      if (cluster) {
        extra = {"--cluster-enabled", "yes", "--cluster-config-file", fmt::format("nodes-{}.conf", i),
                 "--cluster-node-timeout", "1000", "--cluster-port", std::to_string(free_port()),
                 "--repl-diskless-sync-delay", "0"};
      }
      setup->nodes_.push_back(std::make_unique<RedisProcess>(setup->dir_, extra));
    }
    for (auto& node : setup->nodes_) {
      if (!node->wait_until_up()) {
        problem = fmt::format("redis-server on port {} did not answer (its log is in {})", node->port(), setup->dir_);
        return nullptr;
      }
    }
    if (cluster && !setup->create_cluster(problem)) return nullptr;
    // What Redis spends doing nothing (its timers, a cluster's gossip), subtracted from each run's share.
    const RedisSample before = setup->sample();
    std::this_thread::sleep_for(2s);
    setup->idle_cpu_per_second_ = std::max(0.0, (setup->sample().cpu_seconds - before.cpu_seconds) / 2.0);
    return setup;
  }
  ~RedisSetup() {
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  // CPU seconds a second it spends idle, measured at start.
  double idle_cpu_per_second() const noexcept { return idle_cpu_per_second_; }
  std::string url(std::string_view prefix) const { return fmt::format("redis://127.0.0.1:{}/{}", nodes_[0]->port(), prefix); }
  std::string plain_url() const { return fmt::format("redis://127.0.0.1:{}", nodes_[0]->port()); }

  RedisSample sample() const {
    RedisSample s;
    for (const auto& node : nodes_) {
      const std::string info = node->cli({"INFO", "all"});
      s.cpu_seconds += std::atof(info_field(info, "used_cpu_sys").c_str()) + std::atof(info_field(info, "used_cpu_user").c_str());
      if (info_field(info, "role") != "master") continue;  // a replica's commands are its primary's, replicated
      s.reads += std::atoll(info_field(info, "total_reads_processed").c_str());
      std::istringstream in(info);
      for (std::string line; std::getline(in, line);) {
        // cmdstat_NAME:calls=N,usec=…
        if (!line.starts_with("cmdstat_")) continue;
        const size_t colon = line.find(':');
        const size_t calls = line.find("calls=", colon);
        if (colon == std::string::npos || calls == std::string::npos) continue;
        const std::string name = line.substr(8, colon - 8);
        if (name == "info") continue;  // our own
        const int64_t n = std::atoll(line.c_str() + calls + 6);
        s.calls[name] += n;
        s.commands += n;
      }
    }
    return s;
  }
  // Empties every primary between runs (no run reads what another left).
  void flush() const {
    for (const auto& node : nodes_) {
      if (info_field(node->cli({"INFO", "replication"}), "role") == "master") node->cli({"FLUSHALL"});
    }
  }

 private:
  RedisSetup() {
    std::string tmpl = "/tmp/ringcast-cluster-bench-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string("/tmp");
  }

  bool create_cluster(std::string& problem) {
    std::vector<std::string> args = {"--cluster", "create"};
    for (const auto& node : nodes_) args.push_back(fmt::format("127.0.0.1:{}", node->port()));
    args.insert(args.end(), {"--cluster-replicas", "1", "--cluster-yes"});
    std::vector<std::string> argv = {kRedisCli};
    argv.insert(argv.end(), args.begin(), args.end());
    const test::ProgramRun run = test::run_program(argv, {}, 60s);
    if (run.status != 0) {
      problem = "redis-cli --cluster create failed:\n" + run.output;
      return false;
    }
    // Ready: every node says cluster_state:ok and every replica's link to its primary is up.
    for (int attempt = 0; attempt < 600; ++attempt) {
      bool ready = true;
      for (const auto& node : nodes_) {
        const std::string state = node->cli({"CLUSTER", "INFO"});
        const std::string replication = node->cli({"INFO", "replication"});
        ready = ready && state.find("cluster_state:ok") != std::string::npos &&
                (info_field(replication, "role") == "master" || info_field(replication, "master_link_status") == "up");
      }
      if (ready) return true;
      std::this_thread::sleep_for(50ms);
    }
    problem = "the Redis Cluster did not settle in 30 s";
    return false;
  }

  std::string dir_;
  std::vector<std::unique_ptr<RedisProcess>> nodes_;
  double idle_cpu_per_second_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Setups and runs.

enum class Server { ringcast, socketio };
enum class Broker { none, redis, cluster };

struct Setup {
  Server server;
  int nodes;
  Broker broker;
  bool durable;
  bool at_peer_rate = false;  // publishes at the rate Socket.IO reached on as many nodes in the same round

  std::string label() const {
    const std::string where = broker == Broker::none    ? "1 node"
                              : broker == Broker::redis ? fmt::format("{} nodes on one Redis", nodes)
                                                        : fmt::format("{} nodes on a Redis Cluster", nodes);
    if (server == Server::socketio) return fmt::format("Socket.IO, {}", where);
    return fmt::format("ringcast, {}, {} rooms{}", where, durable ? "durable" : "live",
                       at_peer_rate ? ", at Socket.IO's rate" : "");
  }
  std::string key() const {
    return fmt::format("{}-{}-{}{}{}", server == Server::ringcast ? "ringcast" : "socketio", nodes,
                       broker == Broker::none ? "alone" : broker == Broker::redis ? "redis" : "cluster",
                       server == Server::ringcast ? (durable ? "-durable" : "-live") : "",
                       at_peer_rate ? "-at-socketio-rate" : "");
  }
};

struct Options {
  int64_t members, publishers, window, size, warmup, duration, rounds;
  std::string bin, peers, node;
};

// What one run measured.
struct Run {
  int64_t round = 0;
  bool clean = false;
  std::string problem;  // why it does not count ("" when clean)
  double deliveries = 0, publishes = 0, p50_ms = 0, p99_ms = 0;
  int64_t sent_total = 0, received_total = 0;
  double node_cpu_seconds = 0, client_cpu_seconds = 0;
  bool on_redis = false;
  RedisSample redis;  // the run's share: after minus before
  std::string load_json;

  double node_us_per_delivery() const { return received_total > 0 ? node_cpu_seconds * 1e6 / static_cast<double>(received_total) : 0; }
  double redis_commands_per_message() const {
    return sent_total > 0 ? static_cast<double>(redis.commands) / static_cast<double>(sent_total) : 0;
  }
  double redis_reads_per_message() const {
    return sent_total > 0 ? static_cast<double>(redis.reads) / static_cast<double>(sent_total) : 0;
  }
  double redis_us_per_message() const { return sent_total > 0 ? redis.cpu_seconds * 1e6 / static_cast<double>(sent_total) : 0; }
};

// A number of the load generator's JSON (0 when absent).
double number(simdjson::simdjson_result<simdjson::dom::element> e) {
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  return 0;
}

// Fills `run` from the load generator's --json (ringcast-load's names; load.mjs uses the same ones).
bool read_load_json(const std::string& path, Run& run) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  run.load_json = text.str();
  while (!run.load_json.empty() && (run.load_json.back() == '\n' || run.load_json.back() == ' ')) run.load_json.pop_back();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (run.load_json.empty() || parser.parse(simdjson::padded_string(run.load_json)).get(doc) != simdjson::SUCCESS) return false;
  run.deliveries = number(doc["received_per_second"]);
  run.publishes = number(doc["sent_per_second"]);
  run.p50_ms = number(doc["latency_us"]["p50"]) / 1000;
  run.p99_ms = number(doc["latency_us"]["p99"]) / 1000;
  run.sent_total = static_cast<int64_t>(number(doc["sent_total"]));
  run.received_total = static_cast<int64_t>(number(doc["received_total"]));
  run.client_cpu_seconds = number(doc["client_cpu_seconds"]);
  bool clean = false;
  run.clean = doc["clean"].get_bool().get(clean) == simdjson::SUCCESS && clean;
  if (!run.clean) {
    run.problem = fmt::format("not clean: {} failed, {} lost, {} duplicates, {} reordered, {} bad, {} closed early",
                              number(doc["failed"]), number(doc["lost"]), number(doc["duplicates"]),
                              number(doc["reordered"]), number(doc["bad_messages"]), number(doc["closed_early"]));
  }
  return true;
}

// `rate`: messages/s per publisher (0: as fast as the window allows).
Run run_once(const Setup& setup, const Options& o, const RedisSetup* redis, double rate, int index, const std::string& scratch) {
  Run run;
  std::vector<std::unique_ptr<test::ServerProcess>> nodes;
  std::string urls;
  for (int n = 0; n < setup.nodes; ++n) {
    std::vector<std::string> argv;
    if (setup.server == Server::ringcast) {
      argv = {o.bin + "/ringcast-echo", "--port", "0", "--shards", "1", "--log", "info"};
      if (redis) argv.insert(argv.end(), {"--broker", redis->url(fmt::format("b{}/", index))});
      if (setup.durable) argv.push_back("--durable-rooms");
    } else {
      argv = {o.node, o.peers + "/socketio/server.mjs", "--port", "0"};
      if (redis) argv.insert(argv.end(), {"--redis", redis->plain_url()});
    }
    nodes.push_back(std::make_unique<test::ServerProcess>(argv, 20s));
    if (nodes.back()->port() == 0) {
      run.problem = fmt::format("node {} did not start:\n{}", n, nodes.back()->output());
      return run;
    }
    const char* scheme = setup.server == Server::ringcast ? "ws" : "http";
    urls += fmt::format("{}{}://127.0.0.1:{}", urls.empty() ? "" : ",", scheme, nodes.back()->port());
  }
  const std::string json = fmt::format("{}/load-{}.json", scratch, index);
  std::vector<std::string> argv;
  if (setup.server == Server::ringcast) {
    argv = {o.bin + "/ringcast-load", "--scenario", "broadcast", "--url", urls, "--progress", "false", "--json", json};
  } else {
    argv = {o.node, o.peers + "/socketio/load.mjs", "--url", urls, "--no-progress", "--json", json};
  }
  const std::initializer_list<std::pair<const char*, int64_t>> shape = {
      {"--connections", o.members}, {"--publishers", o.publishers}, {"--window", o.window},
      {"--size", o.size},           {"--warmup", o.warmup},         {"--duration", o.duration}};
  for (const auto& [flag, value] : shape) {
    argv.insert(argv.end(), {flag, std::to_string(value)});
  }
  if (rate > 0) argv.insert(argv.end(), {"--rate", fmt::format("{:.3f}", rate)});

  const RedisSample before = redis ? redis->sample() : RedisSample{};
  double cpu_before = 0;
  for (const auto& node : nodes) cpu_before += load::process_cpu_seconds(node->pid());
  const auto started = std::chrono::steady_clock::now();
  test::ChildProcess load_process(argv);
  const std::optional<int> status = load_process.wait(test::deadline_in(std::chrono::seconds(o.warmup + o.duration + 90)));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  double cpu_after = 0;
  for (const auto& node : nodes) cpu_after += load::process_cpu_seconds(node->pid());
  if (redis) {
    const RedisSample after = redis->sample();
    run.on_redis = true;
    run.redis.cpu_seconds = std::max(0.0, after.cpu_seconds - before.cpu_seconds - redis->idle_cpu_per_second() * wall);
    run.redis.commands = after.commands - before.commands;
    run.redis.reads = after.reads - before.reads;
    for (const auto& [name, calls] : after.calls) {
      const auto was = before.calls.find(name);
      const int64_t delta = calls - (was == before.calls.end() ? 0 : was->second);
      if (delta > 0) run.redis.calls[name] = delta;
    }
  }
  run.node_cpu_seconds = cpu_after - cpu_before;
  const int load_status = status ? *status : load_process.stop(SIGKILL);
  int node_status = 0;
  for (auto& node : nodes) node_status |= node->stop();

  if (!read_load_json(json, run)) {
    run.clean = false;
    run.problem = fmt::format("the load generator wrote no figures (exit status {}):\n{}", load_status, load_process.output());
  } else if (load_status != 0 && run.clean) {
    run.clean = false;
    run.problem = fmt::format("the load generator exited {}", load_status);
  } else if (node_status != 0 && run.clean) {
    run.clean = false;
    run.problem = "a node did not exit 0 on SIGTERM";
  }
  std::filesystem::remove(json);
  return run;
}

// ---------------------------------------------------------------------------------------------
// Reporting.

std::string rate(double per_second) {
  if (per_second >= 1e6) return fmt::format("{:.2f} M/s", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f} k/s", per_second / 1e3);
  return fmt::format("{:.0f}/s", per_second);
}
std::string ms(double v) { return v >= 100 ? fmt::format("{:.0f} ms", v) : fmt::format("{:.2f} ms", v); }
std::string us(double v) { return v >= 100 ? fmt::format("{:.0f} µs", v) : fmt::format("{:.2f} µs", v); }
std::string times(double ratio) { return ratio >= 10 ? fmt::format("×{:.0f}", ratio) : fmt::format("×{:.2f}", ratio); }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// What a setup's table row says: each figure the median of its clean runs' (of all runs when none was
// clean), so one run's outlier in one figure does not carry the others.
struct Figures {
  double deliveries = 0, publishes = 0, p50_ms = 0, p99_ms = 0, node_us_per_delivery = 0;
  double redis_commands_per_message = 0, redis_us_per_message = 0, redis_reads_per_message = 0;
  double deliveries_min = 0, deliveries_max = 0, p99_min = 0, p99_max = 0;  // over every run
  bool on_redis = false;
  bool clean = false;
  std::string problem;  // the first unclean run's, when none was clean
};

// Every run of a setup.
struct Result {
  Setup setup;
  std::vector<Run> runs;

  std::optional<Figures> figures() const {
    std::vector<const Run*> pool;
    for (const Run& r : runs) {
      if (r.clean) pool.push_back(&r);
    }
    if (pool.empty()) {
      for (const Run& r : runs) pool.push_back(&r);
    }
    if (pool.empty()) return std::nullopt;
    const auto median = [&pool](auto figure) {
      std::vector<double> v;
      for (const Run* r : pool) v.push_back(figure(*r));
      std::sort(v.begin(), v.end());
      return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    };
    Figures f;
    f.deliveries = median([](const Run& r) { return r.deliveries; });
    f.publishes = median([](const Run& r) { return r.publishes; });
    f.p50_ms = median([](const Run& r) { return r.p50_ms; });
    f.p99_ms = median([](const Run& r) { return r.p99_ms; });
    f.node_us_per_delivery = median([](const Run& r) { return r.node_us_per_delivery(); });
    f.redis_commands_per_message = median([](const Run& r) { return r.redis_commands_per_message(); });
    f.redis_us_per_message = median([](const Run& r) { return r.redis_us_per_message(); });
    f.redis_reads_per_message = median([](const Run& r) { return r.redis_reads_per_message(); });
    f.deliveries_min = f.deliveries_max = runs[0].deliveries;
    f.p99_min = f.p99_max = runs[0].p99_ms;
    for (const Run& r : runs) {
      f.deliveries_min = std::min(f.deliveries_min, r.deliveries);
      f.deliveries_max = std::max(f.deliveries_max, r.deliveries);
      f.p99_min = std::min(f.p99_min, r.p99_ms);
      f.p99_max = std::max(f.p99_max, r.p99_ms);
    }
    f.on_redis = pool.front()->on_redis;
    f.clean = pool.front()->clean;
    if (!f.clean) f.problem = pool.front()->problem.substr(0, pool.front()->problem.find('\n'));
    return f;
  }
  // A clean run, for what every run has alike (the commands a message costs); nullptr when none.
  const Run* a_clean_run() const {
    for (const Run& r : runs) {
      if (r.clean) return &r;
    }
    return nullptr;
  }
};

// The peer a ringcast setup is read against: Socket.IO on as many nodes.
std::optional<Figures> peer_of(const std::vector<Result>& results, const Setup& s) {
  for (const Result& r : results) {
    if (r.setup.server == Server::socketio && r.setup.nodes == s.nodes) return r.figures();
  }
  return std::nullopt;
}

// "×3.2 less" for a ratio of 3.2, "×2.0 more" for 0.5.
std::string fewer(double peer_over_mine, std::string_view less, std::string_view more) {
  return peer_over_mine >= 1 ? fmt::format("{} {}", times(peer_over_mine), less) : fmt::format("{} {}", times(1 / peer_over_mine), more);
}

std::string against_peer(const Figures& mine, const Figures& peer, bool compare_redis) {
  std::string out = fmt::format("{} deliveries/s", times(mine.deliveries / peer.deliveries));
  if (mine.p99_ms > 0) out += fmt::format(", p99 {}", fewer(peer.p99_ms / mine.p99_ms, "lower", "higher"));
  if (mine.node_us_per_delivery > 0) {
    out += fmt::format(", {} CPU/delivery", fewer(peer.node_us_per_delivery / mine.node_us_per_delivery, "less", "more"));
  }
  // Not at Socket.IO's rate: paced messages reach Redis one by one, Socket.IO's in bursts.
  if (mine.on_redis && peer.on_redis && mine.redis_us_per_message > 0 && compare_redis) {
    out += fmt::format(", Redis {} CPU/message", fewer(peer.redis_us_per_message / mine.redis_us_per_message, "less", "more"));
  }
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

// The 1-minute load average ("?" when unknown): other work on the machine shows here.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  return in >> first ? first : std::string("?");
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

struct Conditions {
  std::string date, cpu, kernel;
  unsigned cpus = 0;
  std::string text;  // one paragraph
};

std::string by_command(const Run& r) {
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (const auto& [name, calls] : r.redis.calls) sorted.emplace_back(-calls, name);
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [calls, name] : sorted) {
    const double per = static_cast<double>(-calls) / static_cast<double>(std::max<int64_t>(1, r.sent_total));
    if (per < 0.005) continue;
    out += fmt::format("{}{} {:.2f}", out.empty() ? "" : ", ", name, per);
  }
  return out;
}

std::string markdown(const std::vector<Result>& results, const Conditions& c) {
  std::string md = c.text + "\n\n";
  md += "| setup | deliveries/s | p50 | p99 | publishes/s | nodes' CPU per delivery | Redis commands per message | Redis CPU per message | against Socket.IO on as many nodes |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  for (const Result& r : results) {
    const std::optional<Figures> f = r.figures();
    if (!f) continue;
    std::string deliveries = rate(f->deliveries), p99 = ms(f->p99_ms);
    if (r.runs.size() > 1) {
      deliveries += fmt::format(" ({}–{})", rate(f->deliveries_min), rate(f->deliveries_max));
      p99 += fmt::format(" ({}–{})", ms(f->p99_min), ms(f->p99_max));
    }
    std::string against = "—";
    if (r.setup.server == Server::ringcast) {
      if (const std::optional<Figures> peer = peer_of(results, r.setup)) against = against_peer(*f, *peer, !r.setup.at_peer_rate);
    }
    md += fmt::format("| {}{} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.setup.label(),
                      f->clean ? "" : fmt::format(" *{}*", f->problem), deliveries, ms(f->p50_ms), p99, rate(f->publishes),
                      us(f->node_us_per_delivery), f->on_redis ? fmt::format("{:.2f}", f->redis_commands_per_message) : "—",
                      f->on_redis ? us(f->redis_us_per_message) : "—", against);
  }
  std::string commands, reads;
  for (const Result& r : results) {
    const std::optional<Figures> f = r.figures();
    if (!f || !f->on_redis) continue;
    reads += fmt::format("{}{} {:.2f}", reads.empty() ? "" : ", ", r.setup.label(), f->redis_reads_per_message);
    if (r.setup.at_peer_rate || !r.a_clean_run()) continue;
    commands += fmt::format("{}{}: {}", commands.empty() ? "" : "; ", r.setup.label(), by_command(*r.a_clean_run()));
  }
  if (!commands.empty()) md += "\nRedis commands per published message, by command (a script's own commands included): " + commands + ".\n";
  if (!reads.empty()) {
    md += "\nReads of client sockets by Redis per published message (below 1: several commands a read): " + reads +
          ". Redis' CPU per message falls as its reads carry more commands, so it is compared only between runs at their "
          "own pace; at Socket.IO's rate ringcast-load spreads each publisher's messages evenly over time, while "
          "Socket.IO's publishers, held by their windows, send in bursts.\n";
  }
  return md;
}

std::string json_report(const std::vector<Result>& results, const Conditions& c, const Options& o) {
  std::string out = fmt::format(
      "{{\n \"bench\": \"cluster_bench\",\n \"date\": {},\n \"machine\": {{\"cpu\": {}, \"cpus\": {}, \"kernel\": {}}},\n"
      " \"conditions\": {},\n \"members\": {}, \"publishers\": {}, \"window\": {}, \"size\": {}, \"warmup\": {}, "
      "\"duration\": {}, \"rounds\": {},\n \"results\": [",
      json_string(c.date), json_string(c.cpu), c.cpus, json_string(c.kernel), json_string(c.text), o.members, o.publishers,
      o.window, o.size, o.warmup, o.duration, o.rounds);
  bool first_result = true;
  for (const Result& r : results) {
    const std::optional<Figures> f = r.figures();
    if (!f) continue;
    out += fmt::format(
        "{}\n  {{\"setup\": {}, \"key\": {}, \"nodes\": {}, \"median\": {{\"clean\": {}, \"deliveries_per_second\": {}, "
        "\"publishes_per_second\": {}, \"p50_ms\": {}, \"p99_ms\": {}, \"node_us_per_delivery\": {}",
        first_result ? "" : ",", json_string(r.setup.label()), json_string(r.setup.key()), r.setup.nodes, f->clean,
        f->deliveries, f->publishes, f->p50_ms, f->p99_ms, f->node_us_per_delivery);
    if (f->on_redis) {
      out += fmt::format(", \"redis_commands_per_message\": {}, \"redis_us_per_message\": {}, \"redis_reads_per_message\": {}",
                         f->redis_commands_per_message, f->redis_us_per_message, f->redis_reads_per_message);
    }
    out += "}, \"runs\": [";
    first_result = false;
    for (size_t i = 0; i < r.runs.size(); ++i) {
      const Run& run = r.runs[i];
      std::string calls;
      for (const auto& [name, n] : run.redis.calls) calls += fmt::format("{}{}: {}", calls.empty() ? "" : ", ", json_string(name), n);
      out += fmt::format(
          "{}\n   {{\"round\": {}, \"clean\": {}, \"problem\": {}, \"deliveries_per_second\": {}, \"publishes_per_second\": {}, "
          "\"p50_ms\": {}, \"p99_ms\": {}, \"node_cpu_seconds\": {}, \"node_us_per_delivery\": {}, \"client_cpu_seconds\": {}",
          i ? "," : "", run.round, run.clean, json_string(run.problem), run.deliveries, run.publishes, run.p50_ms, run.p99_ms,
          run.node_cpu_seconds, run.node_us_per_delivery(), run.client_cpu_seconds);
      if (run.on_redis) {
        out += fmt::format(", \"redis_commands\": {}, \"redis_commands_per_message\": {}, \"redis_cpu_seconds\": {}, "
                           "\"redis_us_per_message\": {}, \"redis_reads_per_message\": {}, \"redis_calls\": {{{}}}",
                           run.redis.commands, run.redis_commands_per_message(), run.redis.cpu_seconds,
                           run.redis_us_per_message(), run.redis_reads_per_message(), calls);
      }
      out += fmt::format(", \"load\": {}}}", run.load_json.empty() ? "null" : run.load_json);
    }
    out += "]}";
  }
  return out + "\n ]\n}\n";
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("cluster_bench",
          "rooms across nodes: ringcast's live and durable rooms on one node, on 3 nodes sharing one Redis and (with "
          "--redis-cluster) a Redis Cluster, against Socket.IO with @socket.io/redis-adapter, in one run");
  auto& members = cli.flag("members", int64_t{300}, "members of the room, spread over the nodes (connection i on node i % nodes)");
  auto& publishers = cli.flag("publishers", int64_t{3}, "publishing members (the first ones: one per node)");
  auto& window = cli.flag("window", int64_t{8}, "a publisher's own messages outstanding");
  auto& size = cli.flag("size", int64_t{200}, "message bytes");
  auto& warmup = cli.flag("warmup", int64_t{1}, "seconds of load before measuring, each run");
  auto& duration = cli.flag("duration", int64_t{5}, "seconds measured, each run");
  auto& rounds = cli.flag("rounds", int64_t{3}, "rounds; setups take turns in each, and each figure is the median of its runs'");
  auto& nodes = cli.flag("nodes", int64_t{3}, "nodes sharing a Redis");
  auto& redis_cluster = cli.flag("redis-cluster", false, "also on a Redis Cluster (3 primaries with a replica each)");
  auto& socketio = cli.flag("socketio", true, "measure Socket.IO too (bench/peers: scripts/setup --peers installs it)");
  auto& only = cli.flag("only", std::string(), "only the setups whose key contains this (ringcast-3-redis-live, socketio-1-alone …; a row at Socket.IO's rate needs Socket.IO's)");
  auto& bin = cli.flag("bin", std::string(), "directory of ringcast-echo and ringcast-load (default: next to this program)");
  auto& peers = cli.flag("peers", std::string(), "the bench/peers folder (default: ../../bench/peers from --bin)");
  auto& json = cli.flag("json", std::string(), "write every figure and run to this JSON file");
  auto& table = cli.flag("table", std::string(), "write the markdown table to this file, and the JSON beside it (.json)");
  cli.example("cluster_bench --redis-cluster --table bench/results/cluster.md");
  cli.example("cluster_bench --rounds 1 --duration 3 --socketio false");
  cli.epilog(
      "Everything runs on this machine and nothing is pinned: the load generator, the nodes and Redis share its CPUs.\n"
      "Exit status: 0 when every setup had a clean run, 1 otherwise, 2 on bad usage.");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (members < 1 || publishers < 1 || window < 1 || size < 40 || duration < 1 || warmup < 0 || rounds < 1 || nodes < 2) {
    fmt::print(stderr, "cluster_bench: --members, --publishers, --window, --duration and --rounds must be ≥ 1, --size ≥ 40, --nodes ≥ 2\n");
    return 2;
  }

  Options o{members, publishers, window, size, warmup, duration, rounds, bin, peers, find_on_path("node")};
  if (o.bin.empty()) o.bin = directory_of_this_program();
  if (o.peers.empty()) o.peers = o.bin + "/../../bench/peers";
  for (const char* program : {"ringcast-echo", "ringcast-load"}) {
    if (::access((o.bin + "/" + program).c_str(), X_OK) != 0) {
      fmt::print(stderr, "cluster_bench: {}/{} is missing (scripts/build)\n", o.bin, program);
      return 1;
    }
  }
  if (::access(kRedisServer, X_OK) != 0 || ::access(kRedisCli, X_OK) != 0) {
    fmt::print(stderr, "cluster_bench: {} and {} are needed (scripts/setup installs redis-server)\n", kRedisServer, kRedisCli);
    return 1;
  }
  if (socketio && (o.node.empty() || !std::filesystem::exists(o.peers + "/node_modules/socket.io") ||
                   !std::filesystem::exists(o.peers + "/node_modules/@socket.io/redis-adapter"))) {
    fmt::print(stderr, "cluster_bench: Socket.IO is not installed in {} (scripts/setup --peers), or node is missing: "
                       "measuring ringcast alone\n", o.peers);
    socketio = false;
  }

  std::vector<Setup> setups = {{Server::ringcast, 1, Broker::none, false}, {Server::ringcast, 1, Broker::none, true}};
  if (socketio) setups.push_back({Server::socketio, 1, Broker::none, false});
  const int n = static_cast<int>(nodes);
  setups.push_back({Server::ringcast, n, Broker::redis, false});
  setups.push_back({Server::ringcast, n, Broker::redis, true});
  if (socketio) {
    setups.push_back({Server::socketio, n, Broker::redis, false});
    // The same load as Socket.IO's, for latency and CPU at equal load (it comes after it in each round).
    setups.push_back({Server::ringcast, n, Broker::redis, false, true});
    setups.push_back({Server::ringcast, n, Broker::redis, true, true});
  }
  if (redis_cluster) {
    setups.push_back({Server::ringcast, n, Broker::cluster, false});
    setups.push_back({Server::ringcast, n, Broker::cluster, true});
  }
  std::erase_if(setups, [&](const Setup& s) { return s.key().find(only) == std::string::npos; });

  std::string problem;
  std::unique_ptr<RedisSetup> redis, cluster;
  const auto wants = [&](Broker b) { return std::any_of(setups.begin(), setups.end(), [b](const Setup& s) { return s.broker == b; }); };
  if (wants(Broker::redis) && !(redis = RedisSetup::start(0, problem))) {
    fmt::print(stderr, "cluster_bench: {}\n", problem);
    return 1;
  }
  if (wants(Broker::cluster) && !(cluster = RedisSetup::start(3, problem))) {
    fmt::print(stderr, "cluster_bench: {}\n", problem);
    return 1;
  }

  utsname u{};
  ::uname(&u);
  Conditions c{utc_now(), cpu_model(), u.release, std::thread::hardware_concurrency(), {}};
  c.text = fmt::format(
      "Measured {} on {}, {} CPUs, Linux {}. One room of {} members spread over the nodes (member i on node i % nodes), {} "
      "publishers (one per node) with {} of their own {}-byte messages outstanding each, every member checking every "
      "publisher's order; {} s of warm-up, then {} s measured; fresh nodes for each run, one shard each; {}. "
      "The load generator, the nodes and Redis share these {} CPUs and nothing is pinned, so a figure is what the setup "
      "reached with the others on the same CPUs, read against the peer of the same run. Socket.IO's load client is "
      "bench/peers/socketio/load.mjs (socket.io-client, the same shape and checks); the rows at Socket.IO's rate run "
      "ringcast-load at the publishes/s Socket.IO reached in the same round. The nodes' CPU per delivery and Redis' CPU "
      "per published message cover the whole run (warm-up included), Redis' less what it spends idle (measured at "
      "start); Redis commands are counted on its primaries, CPU on every Redis process (a Redis Cluster's replicas "
      "too). The 1-minute load average was {} when the bench started: the machine's other work shares the CPUs too.",
      c.date, c.cpu, c.cpus, c.kernel, o.members, o.publishers, o.window, o.size, o.warmup, o.duration,
      o.rounds > 1 ? fmt::format("setups take turns over {} rounds and each figure is the median of its runs' (the "
                                 "range of all runs in parentheses), ratios are of medians",
                                 o.rounds)
                   : std::string("one run each"),
      c.cpus, load_average());
  fmt::print("cluster_bench: {} setups × {} rounds. Load generator, nodes and Redis share {} CPUs, nothing pinned.\n",
             setups.size(), o.rounds, c.cpus);

  const std::string scratch = std::filesystem::temp_directory_path().string();
  std::vector<Result> results;
  for (const Setup& s : setups) results.push_back({s, {}});
  int index = 0;
  for (int64_t round = 1; round <= o.rounds; ++round) {
    for (Result& r : results) {
      const RedisSetup* broker = r.setup.broker == Broker::redis ? redis.get() : r.setup.broker == Broker::cluster ? cluster.get() : nullptr;
      if (broker) broker->flush();
      double peer_rate = 0;
      if (r.setup.at_peer_rate) {
        // Socket.IO's publishes/s on as many nodes, in this round.
        const auto peer = std::find_if(results.begin(), results.end(), [&](const Result& p) {
          return p.setup.server == Server::socketio && p.setup.nodes == r.setup.nodes;
        });
        if (peer == results.end() || peer->runs.empty()) continue;
        peer_rate = peer->runs.back().publishes / static_cast<double>(o.publishers);
        if (peer_rate <= 0) continue;
      }
      Run run = run_once(r.setup, o, broker, peer_rate, index++, scratch);
      run.round = round;
      fmt::print("round {}/{}  {:<66} {:>10} delivered, p99 {:>9}, {:>10} published, {}\n", round, o.rounds,
                 r.setup.label(), rate(run.deliveries), ms(run.p99_ms), rate(run.publishes),
                 run.clean ? "clean" : run.problem);
      std::fflush(stdout);
      r.runs.push_back(std::move(run));
      std::this_thread::sleep_for(500ms);  // the stopped nodes' last work is over before the next run
    }
  }

  bench::BenchReport report("cluster_bench");
  bool all_clean = true;
  for (const Result& r : results) {
    const std::optional<Figures> f = r.figures();
    all_clean = all_clean && f && f->clean;
    if (!f) continue;
    bench::BenchReport::Row row = {{"setup", r.setup.key()},
                                   {"deliveries/s", rate(f->deliveries)},
                                   {"p50", ms(f->p50_ms)},
                                   {"p99", ms(f->p99_ms)},
                                   {"publishes/s", rate(f->publishes)},
                                   {"node CPU/delivery", us(f->node_us_per_delivery)},
                                   {"Redis cmds/msg", f->on_redis ? fmt::format("{:.2f}", f->redis_commands_per_message) : "-"},
                                   {"Redis CPU/msg", f->on_redis ? us(f->redis_us_per_message) : "-"},
                                   {"clean", std::string(f->clean ? "yes" : "NO")}};
    report.add(std::move(row));
  }
  fmt::print("\nMedians over {} round(s):\n", o.rounds);
  report.print_table();
  fmt::print("\n");
  for (const Result& r : results) {
    const std::optional<Figures> f = r.figures();
    if (!f || r.setup.server != Server::ringcast) continue;
    if (const std::optional<Figures> peer = peer_of(results, r.setup)) {
      fmt::print("{}: {} against Socket.IO\n", r.setup.label(), against_peer(*f, *peer, !r.setup.at_peer_rate));
    }
  }
  fmt::print("\nShared CPUs: the load generator, every node and Redis ran on the same {} CPUs, none pinned.\n", c.cpus);

  const std::string json_text = json_report(results, c, o);
  if (!json.empty() && !write_file(json, json_text)) {
    fmt::print(stderr, "cluster_bench: cannot write {}\n", json);
    return 1;
  }
  if (!table.empty()) {
    std::filesystem::path json_path(table);
    json_path.replace_extension(".json");
    if (!write_file(table, markdown(results, c)) || !write_file(json_path.string(), json_text)) {
      fmt::print(stderr, "cluster_bench: cannot write {}\n", table);
      return 1;
    }
    fmt::print("wrote {} and {}\n", table, json_path.string());
  }
  return all_clean ? 0 : 1;
}
