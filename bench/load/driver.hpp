#pragma once
// Driver: runs a load scenario on N client threads (shards), each with its own event loop and
// WebSocket client, connects the connections (bounded concurrency, spread over source addresses in
// 127.0.0.0/8), runs the scenario's phases, prints a progress line every second and measures CPU.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/stream_checker.hpp"
#include "bench/load/tsc_clock.hpp"
#include <ringcast/core/counter.hpp>
#include <ringcast/core/latency_histogram.hpp>
#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/web_socket_client.hpp>

namespace ringcast::load {

struct Slot {
  uint32_t index = 0;  // the connection's number, 0..connections-1
};
using Socket = WebSocket<Slot>;

struct LoadOptions {
  std::string scenario;
  std::string url = "ws://127.0.0.1:9001";  // server base URL (scheme, host, port)
  std::string path;                          // for echo: the path to open (default /echo)
  uint32_t connections = 100;
  unsigned threads = 1;
  int64_t yield_us = 200;            // ShardOptions::yield_interval of the client threads
  size_t size = 32;                 // message payload bytes
  unsigned inflight = 1;            // echo: messages in flight per connection
  uint32_t rooms = 1;               // broadcast
  uint32_t publishers = 1;          // broadcast
  unsigned window = 16;             // broadcast: a publisher's own messages outstanding
  double rate = 0;                  // messages/s per publisher (broadcast, chat) or connection (echo); 0: unpaced
  double duration = 10;             // seconds measured
  double warmup = 1;                // seconds of load before measuring
  uint64_t messages = 0;            // send exactly this many messages in all, then stop (0: by duration)
  unsigned sources = 0;             // source addresses (0: enough for the connection count)
  unsigned connect_concurrency = 256;  // connects in progress per thread
  double connect_rate = 0;          // connections started per second in all (0: as fast as connect_concurrency allows)
  unsigned server_shards = 1;       // the server's shards, to report its fixed memory per shard
  bool deflate = false;
  pid_t server_pid = 0;
  bool allow_remote = false;
  bool insecure = false;            // wss://: accept any certificate (self-signed test servers)
  std::string ca_file;              // wss://: trust this PEM file instead of the system store
  bool progress = true;
  std::string json;
  std::string chat_user = "alice", chat_password = "secret";
  // A connection the server or the network ended (close 1001, 1006, 1011, 1012, 1013, or a reset) is
  // opened again on the next server of --url after a short backoff, and resumes where it was.
  bool reconnect = true;
  bool one_order = false;           // broadcast: every member of a room must see one sequence (durable rooms)
  double confirm_timeout = 10;      // seconds a publisher waits for its own message before it gives up on it
};

// What reconnecting connections went through (a run without drops has zeros).
struct ResumeCounts {
  uint64_t reconnects = 0;              // connections that dropped and were opened again
  uint64_t resumed_recovered = 0;       // came back with the gap filled: recovered: true
  uint64_t resumed_not_recovered = 0;   // came back told recovered: false, or to a room that cannot recover
  uint64_t messages_recovered = 0;      // given back after a reconnect (replayed into the gap)
  uint64_t unconfirmed = 0;             // published on a connection that dropped before they came back, or
                                        // answered not_sent with maybe: true, and never seen in the room
  uint64_t refused = 0;                 // answered not_sent (maybe: false): the publisher was told, nobody got them
  uint64_t publishes_lost = 0;          // published on a live connection, never back (within lost)
  uint64_t order_violations = 0;        // a position of a room where two members saw different messages
  uint64_t order_checked = 0;           // positions compared with another member's
  uint64_t epoch_changes = 0;           // a room's log started over while members were in it

  ResumeCounts& operator+=(const ResumeCounts& o) noexcept {
    reconnects += o.reconnects;
    resumed_recovered += o.resumed_recovered;
    resumed_not_recovered += o.resumed_not_recovered;
    messages_recovered += o.messages_recovered;
    unconfirmed += o.unconfirmed;
    refused += o.refused;
    publishes_lost += o.publishes_lost;
    order_violations += o.order_violations;
    order_checked += o.order_checked;
    epoch_changes += o.epoch_changes;
    return *this;
  }
};

class Driver;

// One client thread.
struct Worker {
  unsigned id = 0;
  Shard* shard = nullptr;
  Loop* loop = nullptr;
  std::unique_ptr<WebSocketClient<Slot>> client;
  std::vector<Socket*> sockets;  // by connection index (only this worker's entries are set)
  std::vector<uint32_t> mine;    // the connection indexes this worker owns
  size_t next_to_connect = 0;
  size_t connect_limit = 0;      // how many of `mine` may be started so far (--connect-rate, halves)
  unsigned connecting = 0;
  bool in_connect_more = false;
  pid_t tid = 0;

  // Live figures (single writer: this thread; the progress line reads them).
  Counter opened, failed, closed_early, sent, received, bytes_out, bytes_in, errors;
  // Reconnects (this thread only): connections away (dropped, not yet resumed), the time from each
  // drop to its resume, the longest time a room went without a new message, and the timer that dials
  // again and runs the scenario's tick().
  Counter reconnects;
  unsigned away = 0;
  LatencyHistogram recovery;
  uint64_t longest_stall_ns = 0;
  struct Redial : Timer {
    using Timer::Timer;
    Driver* driver = nullptr;
    Worker* worker = nullptr;
    std::vector<std::pair<int64_t, uint32_t>> due;  // (when, connection) to open again
  };
  std::unique_ptr<Redial> redial;
  // Latency in nanoseconds: `recent` since the last roll(); `latency` of the measured phase.
  LatencyHistogram latency;
  LatencyHistogram recent;
  std::atomic<uint64_t> p99_last_second{0};
  bool measuring = false;  // in the measured phase (set on this thread)
  // Driver::arrival_ns: the receive completion the last stamp was read for, and the stamp.
  uint64_t stamp_reads = UINT64_MAX;
  int64_t stamp_ns = 0;

  void record_latency(uint64_t ns) { recent.record(ns); }
  // Every second, and where the measured phase starts and ends (on this thread): the progress
  // line's p99, and what was recorded since goes into the measured figures if it belongs there.
  void roll() {
    p99_last_second.store(recent.percentile(0.99), std::memory_order_relaxed);
    if (measuring) latency.merge(recent);
    recent.reset();
  }
};

class Scenario;

struct Totals {
  uint64_t connections = 0, failed = 0, closed_early = 0;
  uint64_t sent = 0, received = 0, bytes_out = 0, bytes_in = 0, errors = 0;  // in the measured phase
  uint64_t sent_total = 0, received_total = 0;                                  // in the whole run
  double connect_seconds = 0;   // time to open every connection
  double measured_seconds = 0;
  double client_cpu = 0, server_cpu = -1;  // CPU seconds over the measured phase
  double client_busiest_thread = 0;        // share of one core used by the busiest client thread
  int64_t server_rss_idle = -1, server_rss_loaded = -1;  // bytes: before connecting, after
  // The idle scenario, from the fresh server (server_rss_idle): RSS with the first half of the
  // connections open once the server settled, and right after the last connect; server_rss_loaded is
  // then the settled figure with all of them.
  int64_t server_rss_half = -1, server_rss_peak = -1;
  uint64_t connections_half = 0;
  LatencyHistogram latency;
  StreamCounts streams;
  ResumeCounts resume;
  LatencyHistogram recovery;      // ns from a drop to the connection's resume
  double longest_stall_seconds = 0;  // the longest a room with publishers went without a new message
  std::vector<std::string> warnings;
};

class Driver {
 public:
  Driver(LoadOptions options, Scenario& scenario);
  ~Driver();
  // Runs everything; returns the totals.
  Totals run();

  const LoadOptions& options() const noexcept { return options_; }
  Worker& worker(unsigned i) noexcept { return *workers_[i]; }
  unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
  // For scenarios: the socket of connection i (on its worker's thread only).
  Socket* socket(uint32_t i) noexcept { return workers_[i % workers_.size()]->sockets[i]; }
  Worker& owner(uint32_t i) noexcept { return *workers_[i % workers_.size()]; }
  std::atomic<bool>& sending() noexcept { return sending_; }
  // For scenarios that open connections themselves (Scenario::connect): open connection i's
  // WebSocket at `path`, or report that connection i could not be opened.
  void open(Worker& w, uint32_t i, const std::string& path);
  void failed(Worker& w, uint32_t i, std::string_view why);
  const WebSocketUrl& base() const noexcept { return base_; }
  // The server connection i is (or will be) on: i % n at first, the next one after each drop.
  const WebSocketUrl& server_of(uint32_t i) const noexcept { return bases_[node_[i]]; }
  size_t servers() const noexcept { return bases_.size(); }
  // Connection i dropped and has not resumed yet (its owner's thread).
  bool away(uint32_t i) const noexcept { return dropped_ns_[i] != 0; }
  // The scenario says connection i is back where it was (a chat member's room_changed): its recovery
  // time is recorded.
  void resumed(Worker& w, uint32_t i);
  // A room got a new message `now` after `silence_ns` without one (the longest is reported).
  void room_advanced(Worker& w, uint64_t silence_ns) {
    if (w.measuring) w.longest_stall_ns = std::max(w.longest_stall_ns, silence_ns);
  }
  // The client TLS context of a wss:// URL (null for ws://).
  const std::shared_ptr<const TlsContext>& tls() const noexcept { return tls_; }
  const SocketAddress* source_for(uint32_t i) const noexcept { return sources_.empty() ? nullptr : &sources_[i % sources_.size()]; }
  // Takes one message from the run's budget (--messages); false once it is spent. Unlimited otherwise.
  bool claim_message() noexcept {
    return !options_.messages || budget_.fetch_sub(1, std::memory_order_relaxed) > 0;
  }
  bool budget_spent() const noexcept { return options_.messages && budget_.load(std::memory_order_relaxed) <= 0; }
  // The time messages are stamped with and latencies measured by.
  int64_t now_ns() const noexcept { return clock_.now_ns(); }
  // When the message being handled on `w` arrived: the clock is read once per receive completion of
  // w's loop, since every message of one receive arrived together (a read per message took a tenth
  // of a client thread at 8 M messages/s).
  int64_t arrival_ns(Worker& w) const noexcept {
    const uint64_t reads = w.loop->stats().reads.get();
    if (reads != w.stamp_reads) {
      w.stamp_reads = reads;
      w.stamp_ns = now_ns();
    }
    return w.stamp_ns;
  }

 private:
  void connect_more(Worker& w);
  void dropped(Worker& w, uint32_t i);
  void redial_later(Worker& w, uint32_t i);
  static void redial_tick(Timer& t);
  static constexpr uint64_t kTickMs = 20;
  static constexpr double kSettleSeconds = 3;  // a server's trims (once a second) give a burst back within it
  // Starts connections until `total` of them (across workers) have opened or failed, at
  // --connect-rate, for at most 120 s.
  void connect_up_to(uint64_t total);
  // The first `total` connections' share of worker w.
  size_t share(uint64_t total, const Worker& w) const noexcept {
    return total > w.id ? static_cast<size_t>((total - w.id - 1) / options_.threads + 1) : 0;
  }
  ClientBehavior<Slot> behavior(Worker& w);
  template <typename Fn>
  void on_every_worker(Fn fn);
  void print_progress(double elapsed, uint64_t prev_sent, uint64_t prev_received, double dt);

  LoadOptions options_;
  Scenario& scenario_;
  WebSocketUrl base_;                 // the first of bases_
  std::vector<WebSocketUrl> bases_;   // --url, split at commas
  std::vector<uint32_t> node_;        // per connection: its server in bases_ (its owner's thread)
  std::vector<int64_t> dropped_ns_;   // per connection: when it dropped, 0 while up (its owner's thread)
  std::vector<uint8_t> attempts_;     // per connection: reconnects tried since the drop
  std::atomic<bool> closing_{false};  // the run is over: no more reconnects
  std::shared_ptr<const TlsContext> tls_;
  std::vector<SocketAddress> sources_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Runtime> runtime_;
  std::atomic<uint64_t> open_{0}, done_connecting_{0};
  std::atomic<bool> sending_{false};
  std::atomic<int64_t> budget_{0};
  TscClock clock_;
};

// A load scenario: its hooks run on the worker thread that owns the connection.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::string name() const = 0;
  // The path connection i opens (with query, if any).
  virtual std::string path(const LoadOptions& o, uint32_t i) const = 0;
  virtual void attach(Driver& d) { driver_ = &d; }
  // Opens connection i (on its worker's thread): by default its WebSocket at path(); a scenario that
  // must do something first (log in) overrides it and calls Driver::open or Driver::failed.
  virtual void connect(Worker& w, uint32_t i);
  // Every connection is open: true once this worker's connections are ready for the measured load.
  virtual bool ready(Worker&) { return true; }
  virtual void opened(Worker&, Socket&) {}
  virtual void message(Worker&, Socket&, std::string_view, OpCode) {}
  // Connection i dropped and will be opened again (Driver::away(i) is true until Driver::resumed).
  virtual void dropped(Worker&, uint32_t) {}
  // Every 20 ms on every worker while the run goes on (publishers give up on messages here).
  virtual void tick(Worker&) {}
  // Every connection is open: start (called once per worker, on its thread).
  virtual void begin(Worker&) {}
  // Stop starting new messages (per worker, on its thread).
  virtual void end(Worker&) {}
  // After end(): true once nothing this worker waits for is still in flight.
  virtual bool drained(Worker&) { return true; }
  // On the main thread, after every worker stopped: add stream counts and the like.
  virtual void finish(Totals&) {}
  // Whether the measured phase sends messages (connect and idle do not).
  virtual bool sends() const { return true; }
  // How often a busy client thread yields a shared CPU unless --yield-us says (ShardOptions::
  // yield_interval): where the server answers each message, a yield hands it the CPU at once
  // instead of at the scheduler's tick.
  virtual int64_t yield_us() const { return 200; }

 protected:
  Driver* driver_ = nullptr;
};

}  // namespace ringcast::load
