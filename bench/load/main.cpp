// ringcast-load: a WebSocket load generator that checks what it measures.
//
// One event loop per thread (io_uring where the kernel has it), connections spread over several
// source addresses in 127.0.0.0/8, and every message numbered and checked: an echo must come back
// byte for byte, a broadcast must reach every member once and in order. It reports throughput,
// latency percentiles from a log-linear histogram, loss/duplicates/reordering, its own CPU use and,
// with --server-pid, the server's CPU per message and memory per connection. The exit status is
// non-zero when it saw loss, duplicates, reordering or errors.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "bench/load/driver.hpp"
#include "bench/load/scenarios.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>

using namespace ringcast;
using namespace ringcast::load;

namespace {

struct Report {
  const LoadOptions& o;
  const Totals& t;
  const Scenario& s;

  double rate(uint64_t n) const { return t.measured_seconds > 0 ? static_cast<double>(n) / t.measured_seconds : 0; }
  double us(double q) const { return static_cast<double>(t.latency.percentile(q)) / 1e3; }
  bool clean() const {
    return t.streams.lost == 0 && t.streams.duplicates == 0 && t.streams.reordered == 0 && t.errors == 0 &&
           t.failed == 0 && t.closed_early == 0 && t.resume.order_violations == 0;
  }
  // Server CPU per message: per message received by the clients (an echo or a delivery).
  double server_us_per_message() const {
    return t.server_cpu >= 0 && t.received ? t.server_cpu * 1e6 / static_cast<double>(t.received) : -1;
  }
  // The idle scenario: RSS per connection between the half and all of them, and what is left of the
  // growth from the fresh server, per server shard.
  int64_t rss_slope() const {
    return t.server_rss_half > 0 && t.server_rss_loaded > 0 && t.connections > t.connections_half
               ? (t.server_rss_loaded - t.server_rss_half) / static_cast<int64_t>(t.connections - t.connections_half)
               : -1;
  }
  int64_t rss_fixed_per_shard() const {
    if (rss_slope() < 0) return -1;
    const int64_t fixed = t.server_rss_loaded - t.server_rss_idle - rss_slope() * static_cast<int64_t>(t.connections);
    return fixed / static_cast<int64_t>(o.server_shards);
  }
  int64_t rss_per_connection() const {
    return t.server_rss_idle > 0 && t.server_rss_loaded > 0 && t.connections
               ? (t.server_rss_loaded - t.server_rss_idle) / static_cast<int64_t>(t.connections)
               : -1;
  }

  double recovery_ms(double q) const { return static_cast<double>(t.recovery.percentile(q)) / 1e6; }
  double recovery_max_ms() const { return static_cast<double>(t.recovery.max()) / 1e6; }

  void print() const {
    fmt::print("\nringcast-load {} against {}: {} connections on {} thread(s)", s.name(), o.url, t.connections, o.threads);
    if (s.sends()) fmt::print(", {}-byte messages", o.size);
    fmt::print("\n");
    fmt::print("  connect     {} opened in {:.2f} s ({:.0f}/s), {} failed\n", t.connections, t.connect_seconds,
               t.connect_seconds > 0 ? static_cast<double>(t.connections) / t.connect_seconds : 0, t.failed);
    if (s.sends()) {
      fmt::print("  throughput  sent {:.0f} msg/s, received {:.0f} msg/s ({:.1f} MB/s in) over {:.1f} s\n",
                 rate(t.sent), rate(t.received), rate(t.bytes_in) / 1e6, t.measured_seconds);
      fmt::print("  latency µs  p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  p99.9 {:.1f}  max {:.1f}  ({} samples)\n", us(0.5),
                 us(0.9), us(0.99), us(0.999), static_cast<double>(t.latency.max()) / 1e3, t.latency.count());
      fmt::print("  checks      lost {}, duplicates {}, reordered {}, bad messages {}, closed early {}: {}\n",
                 t.streams.lost, t.streams.duplicates, t.streams.reordered, t.errors, t.closed_early,
                 clean() ? "OK" : "PROBLEMS");
      const ResumeCounts& r = t.resume;
      if (r.publishes_lost) {
        fmt::print("  publishes   {} of the lost were published on a live connection and never came back (within "
                   "--confirm-timeout): the server dropped them without a word\n", r.publishes_lost);
      }
      if (r.refused || (r.unconfirmed && !r.reconnects)) {
        fmt::print("  not sent    {} publishes refused (answered not_sent: nobody got them), {} unconfirmed (answered "
                   "not_sent maybe: true, or their connection dropped first, and never seen)\n", r.refused, r.unconfirmed);
      }
      if (r.order_checked || r.order_violations) {
        fmt::print("  one order   {} positions compared between members, {} where members saw different messages\n",
                   r.order_checked, r.order_violations);
      }
      if (r.reconnects) {
        fmt::print("  reconnects  {}: {} resumed with the gap filled ({} messages recovered), {} without (told "
                   "recovered: false, or a live room: {} messages not recovered); {} publishes unconfirmed (their "
                   "connection dropped first)\n",
                   r.reconnects, r.resumed_recovered, r.messages_recovered, r.resumed_not_recovered,
                   t.streams.not_recovered, r.unconfirmed);
        fmt::print("  recovery    drop to resume p50 {:.1f} ms, max {:.1f} ms ({} resumed)\n", recovery_ms(0.5),
                   recovery_max_ms(), t.recovery.count());
      }
      if (t.longest_stall_seconds > 0) {
        fmt::print("  stall       the longest a room went without a new message: {:.3f} s\n", t.longest_stall_seconds);
      }
      if (r.epoch_changes) fmt::print("  warning     a room's log started over {} time(s) (a new epoch)\n", r.epoch_changes);
    }
    fmt::print("  cpu         load generator {:.0f}% of a core (busiest thread {:.0f}%)", 100 * t.client_cpu / t.measured_seconds,
               100 * t.client_busiest_thread);
    if (t.server_cpu >= 0) {
      fmt::print(", server {:.0f}% of a core", 100 * t.server_cpu / t.measured_seconds);
      if (server_us_per_message() >= 0 && s.sends()) fmt::print(", {:.2f} µs per message", server_us_per_message());
    }
    fmt::print("\n");
    auto mib = [](int64_t bytes) { return static_cast<double>(bytes) / 1048576.0; };
    if (rss_slope() >= 0) {
      fmt::print("  memory      server RSS fresh {:.1f} MiB, {} connections {:.1f} MiB, {} connections {:.1f} MiB ({:.1f} "
                 "MiB right after the connects; each read once the server settled)\n",
                 mib(t.server_rss_idle), t.connections_half, mib(t.server_rss_half), t.connections,
                 mib(t.server_rss_loaded), mib(t.server_rss_peak));
      fmt::print("              {} bytes per connection from the fresh server: {} per connection and {:.0f} KiB fixed "
                 "per shard ({} shard(s))\n",
                 rss_per_connection(), rss_slope(), static_cast<double>(rss_fixed_per_shard()) / 1024.0, o.server_shards);
    } else if (rss_per_connection() >= 0) {
      fmt::print("  memory      server RSS {:.1f} MiB → {:.1f} MiB: {} bytes per connection\n", mib(t.server_rss_idle),
                 mib(t.server_rss_loaded), rss_per_connection());
    }
    for (const auto& w : t.warnings) fmt::print("  warning     {}\n", w);
  }

  bool write_json(const std::string& path) const {
    std::ofstream out(path);
    if (!out) return false;
    out << fmt::format(
        "{{\"scenario\": \"{}\", \"url\": \"{}\", \"connections\": {}, \"threads\": {}, \"size\": {}, \"inflight\": {}, "
        "\"rooms\": {}, \"publishers\": {}, \"window\": {}, \"rate\": {}, \"yield_us\": {}, \"connect_seconds\": {}, \"failed\": {}, "
        "\"measured_seconds\": {}, \"sent\": {}, \"received\": {}, \"sent_total\": {}, \"received_total\": {}, \"sent_per_second\": {}, \"received_per_second\": {}, "
        "\"bytes_in_per_second\": {}, \"latency_us\": {{\"p50\": {}, \"p90\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}, "
        "\"mean\": {}}}, \"lost\": {}, \"duplicates\": {}, \"reordered\": {}, \"bad_messages\": {}, \"closed_early\": {}, "
        "\"client_cpu_seconds\": {}, \"client_busiest_thread\": {}, \"server_cpu_seconds\": {}, "
        "\"server_us_per_message\": {}, \"server_rss_idle\": {}, \"server_rss_loaded\": {}, \"rss_per_connection\": {}, "
        "\"connect_rate\": {}, \"connections_half\": {}, \"server_rss_half\": {}, \"server_rss_peak\": {}, "
        "\"rss_slope_per_connection\": {}, \"rss_fixed_per_shard\": {}, "
        "\"reconnects\": {}, \"resumed_recovered\": {}, \"resumed_not_recovered\": {}, \"recovered\": {}, "
        "\"not_recovered\": {}, \"unconfirmed\": {}, \"refused\": {}, \"publishes_lost\": {}, \"order_checked\": {}, \"order_violations\": {}, \"epoch_changes\": {}, "
        "\"recovery_p50_ms\": {}, \"recovery_max_ms\": {}, \"longest_stall_seconds\": {}, "
        "\"clean\": {}}}\n",
        s.name(), o.url, t.connections, o.threads, o.size, o.inflight, o.rooms, o.publishers, o.window, o.rate, o.yield_us,
        t.connect_seconds, t.failed, t.measured_seconds, t.sent, t.received, t.sent_total, t.received_total,
        rate(t.sent), rate(t.received),
        rate(t.bytes_in), us(0.5), us(0.9), us(0.99), us(0.999), static_cast<double>(t.latency.max()) / 1e3,
        t.latency.mean() / 1e3, t.streams.lost, t.streams.duplicates, t.streams.reordered, t.errors, t.closed_early,
        t.client_cpu, t.client_busiest_thread, t.server_cpu, server_us_per_message(), t.server_rss_idle,
        t.server_rss_loaded, rss_per_connection(), o.connect_rate, t.connections_half, t.server_rss_half,
        t.server_rss_peak, rss_slope(), rss_fixed_per_shard(), t.resume.reconnects, t.resume.resumed_recovered,
        t.resume.resumed_not_recovered, t.resume.messages_recovered, t.streams.not_recovered, t.resume.unconfirmed,
        t.resume.refused, t.resume.publishes_lost, t.resume.order_checked, t.resume.order_violations, t.resume.epoch_changes, recovery_ms(0.5), recovery_max_ms(),
        t.longest_stall_seconds, clean() ? "true" : "false");
    return true;
  }
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ringcast-load", "a WebSocket load generator that checks every message it measures");
  LoadOptions o;
  auto& scenario = cli.flag("scenario", std::string("echo"), "echo, broadcast, connect, idle or chat");
  auto& url = cli.flag("url", std::string("ws://127.0.0.1:9001"), "the server (loopback only unless --allow-remote); a comma list "
                        "spreads connection i over the servers by i % n (nodes that share rooms)");
  auto& path = cli.flag("path", std::string(), "echo/connect/idle: the path to open (empty: /echo)");
  auto& connections = cli.flag("connections", int64_t{100}, "connections to open");
  auto& threads = cli.flag("threads", int64_t{1}, "client threads, one event loop each");
  auto& yield_us = cli.flag("yield-us", int64_t{-1}, "how often, in µs, a busy client thread yields its CPU when another thread (the server) waits for it "
                            "(0: never; -1: the scenario's choice, 200 but 0 for broadcast)");
  auto& size = cli.flag("size", int64_t{32}, "message payload bytes (echo ≥ 16, broadcast ≥ 24)");
  auto& inflight = cli.flag("inflight", int64_t{1}, "echo: messages in flight per connection");
  auto& rooms = cli.flag("rooms", int64_t{1}, "broadcast: rooms (connection i joins room i % rooms)");
  auto& publishers = cli.flag("publishers", int64_t{1}, "broadcast: publishing connections (the first ones)");
  auto& window = cli.flag("window", int64_t{16}, "broadcast: a publisher's own messages outstanding");
  auto& rate = cli.flag("rate", 0.0, "messages/s per publisher (broadcast, chat) or per connection (echo); 0: as fast as the window (or --inflight) allows");
  auto& duration = cli.flag("duration", 10.0, "seconds measured (after the warm-up)");
  auto& warmup = cli.flag("warmup", 1.0, "seconds of load before measuring");
  auto& messages = cli.flag("messages", int64_t{0}, "send exactly this many messages in all, then stop (0: by --duration)");
  auto& sources = cli.flag("sources", int64_t{0}, "source addresses in 127.0.0.0/8 (0: one per 20,000 connections)");
  auto& deflate = cli.flag("deflate", false, "offer permessage-deflate and compress what is sent");
  auto& server_pid = cli.flag("server-pid", int64_t{0}, "the server's pid: report its CPU per message and memory");
  auto& server_shards = cli.flag("server-shards", int64_t{1}, "idle: the server's shards, to report its fixed memory per shard");
  auto& connect_rate = cli.flag("connect-rate", 0.0, "connections opened per second in all, one after another (0: as fast "
                                "as they can, 256 at a time per thread)");
  auto& allow_remote = cli.flag("allow-remote", false, "allow a non-loopback server");
  auto& insecure = cli.flag("insecure", false, "wss://: accept any server certificate (self-signed test servers)");
  auto& ca_file = cli.flag("ca-file", std::string(), "wss://: trust the certificates in this PEM file (default: the system store)");
  auto& progress = cli.flag("progress", true, "print a progress line every second");
  auto& chat_user = cli.flag("chat-user", std::string("alice"), "chat: the user every connection logs in as");
  auto& chat_password = cli.flag("chat-password", std::string("secret"), "chat: that user's password");
  auto& reconnect = cli.flag("reconnect", true, "a connection the server or the network ended (close 1001, 1006, 1011, "
                             "1012, 1013, a reset) is opened again on the next --url server after a short backoff (50 ms "
                             "doubling to 1.6 s) and resumes: chat members from their last (epoch, seq), broadcast "
                             "members from the live edge (what they missed is counted as not recovered, never as lost)");
  auto& one_order = cli.flag("one-order", false, "broadcast: every member of a room must see one sequence, whoever "
                             "published (servers with durable rooms: ringcast-echo --durable-rooms); chat always checks it");
  auto& confirm_timeout = cli.flag("confirm-timeout", 10.0, "seconds a publisher waits for its own message on a live "
                                   "connection before it gives up on it (counted lost) and sends more");
  auto& json = cli.flag("json", std::string(), "write every figure to this JSON file");
  auto& log_level = cli.flag("log", std::string("warn"), "log level: debug, info, warn, error, off");
  cli.example("ringcast-load --scenario echo --connections 1000 --size 32 --duration 10");
  cli.example("ringcast-load --scenario broadcast --url ws://127.0.0.1:9001 --connections 500 --publishers 5 --window 16");
  cli.example("ringcast-load --scenario idle --connections 10000 --duration 5 --server-pid $(pidof ringcast-echo)");
  cli.example("ringcast-load --scenario idle --connections 10000 --connect-rate 2000 --server-pid $(pidof ringcast-echo)");
  cli.example("ringcast-load --scenario chat --url ws://127.0.0.1:8080 --connections 200 --rooms 4 --publishers 8");
  cli.example("ringcast-load --scenario echo --url wss://127.0.0.1:9443 --insecure --connections 100");
  cli.example("ringcast-load --scenario chat --url ws://127.0.0.1:8081,ws://127.0.0.1:8082,ws://127.0.0.1:8083 "
              "--connections 60 --rooms 6 --publishers 12 --window 4 --duration 30   # a cluster (scripts/chaos)");
  cli.epilog(
      "Servers speak the bench protocol: any path echoes; /room/NAME joins room NAME, and every message a member\n"
      "sends goes to every member, sender included (ringcast-echo and bench/peers/* do).\n"
      "Several servers (--url A,B,C: nodes sharing rooms through Redis): connection i starts on server i % n and, when\n"
      "it drops, comes back on the next one. The chat's rooms have one order: every member's positions (seq) must go\n"
      "up by one, the message at a position must be the same for every member, and a reconnect must be told\n"
      "recovered: true with the gap filled, or recovered: false (what it skipped counts as not recovered). A gap\n"
      "nobody was told of is lost. A publish whose connection dropped before it came back is unconfirmed, not lost;\n"
      "one answered not_sent is refused (maybe: false) or unconfirmed unless it comes (maybe: true).\n"
      "It reports reconnects, recovered and not recovered messages, recovery time (drop to resume) p50 and max, and\n"
      "the longest a room went without a new message.\n"
      "Exit status: 0 when every check passed, 1 when it saw loss, duplicates, reordering, two members of a room\n"
      "seeing different messages at one position, or errors; 2 on bad usage.\n"
      "A process may open at most RLIMIT_NOFILE descriptors (raised to the hard limit at start): it says so when\n"
      "that limit stops it.");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  log::Level level;
  if (!log::parse_level(log_level, level)) {
    fmt::print(stderr, "ringcast-load: --log '{}': choose debug, info, warn, error or off\n", log_level);
    return 2;
  }
  log::set_level(level);
  auto s = make_scenario(scenario);
  if (!s) {
    fmt::print(stderr, "ringcast-load: unknown --scenario '{}' (echo, broadcast, connect, idle, chat)\n", scenario);
    return 2;
  }
  if (connections < 1 || threads < 1 || threads > 64 || size < 1 || inflight < 1 || rooms < 1 || publishers < 0 ||
      window < 1 || rate < 0 || duration < 0 || warmup < 0 || messages < 0 || sources < 0 || sources > 250 ||
      yield_us < -1 || yield_us > 1'000'000 || confirm_timeout <= 0 || connect_rate < 0 || server_shards < 1) {
    fmt::print(stderr, "ringcast-load: a flag is out of range (see --help)\n");
    return 2;
  }
  o.scenario = scenario;
  o.url = url;
  o.path = path;
  o.connections = static_cast<uint32_t>(connections);
  o.threads = static_cast<unsigned>(threads);
  o.yield_us = yield_us < 0 ? s->yield_us() : yield_us;
  o.size = static_cast<size_t>(size);
  o.inflight = static_cast<unsigned>(inflight);
  o.rooms = static_cast<uint32_t>(rooms);
  o.publishers = static_cast<uint32_t>(publishers);
  o.window = static_cast<unsigned>(window);
  o.rate = rate;
  o.duration = s->sends() || scenario == "idle" ? duration : 0;
  o.warmup = s->sends() ? warmup : 0;
  o.messages = static_cast<uint64_t>(messages);
  o.sources = static_cast<unsigned>(sources);
  o.deflate = deflate;
  o.server_pid = static_cast<pid_t>(server_pid);
  o.server_shards = static_cast<unsigned>(server_shards);
  o.connect_rate = connect_rate;
  o.allow_remote = allow_remote;
  o.insecure = insecure;
  o.ca_file = ca_file;
  o.progress = progress;
  o.json = json;
  o.chat_user = chat_user;
  o.chat_password = chat_password;
  o.reconnect = reconnect;
  o.one_order = one_order;
  o.confirm_timeout = confirm_timeout;
  try {
    Driver driver(o, *s);
    const Totals t = driver.run();
    const Report report{driver.options(), t, *s};
    report.print();
    if (!json.empty() && !report.write_json(json)) {
      fmt::print(stderr, "ringcast-load: cannot write {}\n", json);
      return 1;
    }
    return report.clean() ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ringcast-load: {}\n", e.what());
    return 2;
  }
}
