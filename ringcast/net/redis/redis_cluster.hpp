#pragma once
// RedisCluster: a shard's client for a Redis Cluster — or for one Redis server, through the same
// API. Commands are routed by key (or slot) to the primary that serves it, pipelined, and answered
// in order; sharded pub/sub channels are subscribed at the node that serves their slot and follow it
// when it moves; Lua scripts run by EVALSHA.
//
//   RedisCluster redis(loop, {.seed = *RedisEndpoint::parse("rediss://ringcast:pw@10.0.0.5:7000", error)},
//                      {.on_message = [](std::string_view channel, std::string_view message) { … },
//                       .on_resubscribed = [](std::string_view channel) { /* fetch what was missed */ }});
//   redis.start();
//   redis.command("room:{lobby}:log", {"XADD", "room:{lobby}:log", "*", "m", payload}, [](const RedisReply& r) { … });
//   redis.ssubscribe("room:{lobby}");
//
// Topology. CLUSTER SHARDS, asked of any node (the seed first), says which primary serves which of
// the 16384 slots (CRC16 of the key's hash tag, key_slot.hpp); it is asked again on MOVED, when a
// connection is lost or cannot be made, and every refresh_interval (every refresh_retry while a
// serving node is unreachable or a channel waits for its node). A server that answers that cluster
// support is disabled is a single Redis: it serves every slot, and everything else works the same
// (SSUBSCRIBE and SPUBLISH included, Redis 7).
//
// Connections. Per node and per shard at most one command connection and one subscriber connection
// (RedisClient: TLS and AUTH as the seed's URL says, reconnecting with backoff), each opened on
// first use. A node that no longer serves slots is let go once nothing waits on it.
//
// Commands. Written into the node's output queue at once (every command of a loop iteration leaves
// in one send), and kept (CommandQueue) until the reply comes, so that:
//   - MOVED: the slot's owner is updated, the topology refreshed, and the command sent to the new
//     owner; ASK: ASKING and the command are sent to the node named, the map left alone. After
//     max_redirects the callback gets too_many_redirects.
//   - NOSCRIPT (a node without the script: new, restarted, or a promoted replica): the command is
//     sent again with EVAL. Scripts used once are loaded (SCRIPT LOAD) on every connection opened
//     later, before anything else is written on it, so this is rare.
//   - A connection lost: commands written on it get `unknown` (they may have run), commands that
//     waited for it `not_sent`. A command for a node whose last connection attempt failed, or whose
//     queue holds max_queued bytes, gets `not_sent` at once (its callback runs later in this loop
//     iteration, never inside command()).
//   - A reply later than `timeout` (a node paused or cut off) drops that connection, with the same
//     outcomes.
// Order: commands for one slot run in the order they were issued, also across MOVED and topology
// changes: while commands already sent to a slot's former owner are unanswered, later commands for
// that slot wait for them (and go to the new owner after them). A command retried with EVAL after
// NOSCRIPT runs after the commands sent behind it.
//
// Sharded pub/sub. ssubscribe(channel) subscribes at the node serving the channel's slot (one
// SSUBSCRIBE per channel, on that node's subscriber connection); `smessage` pushes reach on_message
// with views of the channel and the message. A subscription is restored — and on_resubscribed says
// so, without exception — whenever it was or may have been lost: its connection dropped, its node
// pushed `sunsubscribe` (the slot moved), or the topology moved its slot elsewhere. Messages
// published meanwhile are gone (pub/sub keeps nothing): on_resubscribed is the moment to read what
// was missed from a log. on_subscribed comes once, when a channel is first confirmed. Subscriber
// connections send PING when idle, so a dead one is found within timeout.
//
// Probes (liveness). A PING answered proves the connection, not delivery: after a failover a node
// can answer PING and SPUBLISH while a subscription it held is gone for good. So on every subscriber
// connection that holds channels, the client subscribes a probe channel of its own — `probe_channel`
// followed by a hash tag chosen (from the slot map) to fall in a slot that very node serves — and
// every probe_interval SPUBLISHes "<sequence>:<send time in µs>" to it. A probe back records the
// round trip. When none has come back for probe_timeout (counted from the last one back, or from
// when probing the connection began), the connection is taken for dead: probes still out are counted
// lost, it is dropped (and so reconnected, its channels subscribed again with on_resubscribed) and
// the topology is asked again. The probe channel moves when its slot does, and is let go with the
// connection's last channel; it is never reported to Events nor counted in subscriptions.
// proven_until_ms() says until when delivery is proven on every connection (the readiness).
//
// Thread: one shard's; everything here, callbacks included, runs on its thread. stop() (or the shard
// stopping) ends it: waiting commands get not_sent, written ones unknown. Not to be destroyed from
// inside its own callbacks; stop it first.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/net/redis/detail/command_queue.hpp>
#include <ringcast/net/redis/detail/resp_parser.hpp>
#include <ringcast/net/redis/redis_client.hpp>
#include <ringcast/net/redis/redis_endpoint.hpp>
#include <ringcast/net/redis/redis_reply.hpp>

namespace ringcast {

class Loop;
class RedisScript;
struct ClusterTopology;
struct Redirect;

struct RedisClusterOptions {
  RedisEndpoint seed;                               // any node (or the one server); its login and TLS serve all
  std::chrono::milliseconds timeout{4000};          // a reply (or PING answer) later than this drops its connection
  std::chrono::milliseconds refresh_interval{5000}; // topology asked again this often when all is well
  std::chrono::milliseconds refresh_retry{250};     // at most this often while something is amiss
  std::chrono::milliseconds ping_interval{1000};    // a subscriber connection silent this long is sent PING
  unsigned max_redirects = 5;
  size_t max_queued = 16u << 20;                    // bytes per node (written and waiting) before commands are refused
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  RespParser::Limits limits;
  const char* name = "redis";                       // in log lines
  // Probes: the start of this client's probe channels (unique per process and shard; a hash tag is
  // appended); empty, or probe_interval 0: no probes.
  std::string probe_channel;
  std::chrono::milliseconds probe_interval{1000};   // one probe per subscriber connection this often
  std::chrono::milliseconds probe_timeout{3000};    // none back for this long: the connection is dropped
};

struct RedisClusterStats {
  Counter commands;          // commands issued by callers
  Counter moved;             // MOVED redirections followed
  Counter asked;             // ASK redirections followed
  Counter not_sent;          // callbacks that got not_sent
  Counter unknown;           // callbacks that got unknown
  Counter timeouts;          // connections dropped for a late reply
  Counter refreshes;         // topology answers applied
  Counter messages;          // smessage pushes delivered
  Counter resubscribed;      // on_resubscribed notices
  Counter subscriptions;     // gauge: channels confirmed by their node now
  Counter nodes;             // gauge: nodes that serve slots
  Counter connections_lost;  // command or subscriber connections that were up and went (each reconnects)
  Counter probes_sent;       // probes published
  Counter probes_received;   // probes back
  Counter probes_lost;       // probes that never came back (a gap, or out when their connection was dropped)
  Counter probe_reconnects;  // subscriber connections dropped because no probe came back in time
  Counter probe_round_trip_us;  // gauge: the latest probe's round trip
  // Gauge, CLOCK_MONOTONIC milliseconds (steady_clock): delivery is proven until then on every
  // subscriber connection probed; UINT64_MAX when none is (nothing to prove, or probes off).
  Counter proven_until_ms;
};

class RedisCluster {
 public:
  struct Events {
    std::function<void(std::string_view channel, std::string_view message)> on_message;
    std::function<void(std::string_view channel)> on_subscribed;    // first confirmation of a channel
    std::function<void(std::string_view channel)> on_resubscribed;  // restored after it was (or may have been) lost
  };

  RedisCluster(Loop& loop, RedisClusterOptions options, Events events = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Asks the seed for the topology and starts the periodic work. Commands may be issued at once:
  // until the topology is known they go to the seed (and MOVED sends them on).
  void start();
  // Closes every connection and ends it for good; harmless twice.
  void stop();

  // ---- Commands: args[0] is the command's name; the reply comes to `done`, once ----
  // Routed by `key` (usually one of the args): the node serving its slot runs it.
  void command(std::string_view key, std::initializer_list<std::string_view> args, RedisCallback done) {
    command_at(redis_slot(key), std::span<const std::string_view>(args.begin(), args.size()), std::move(done));
  }
  void command(std::string_view key, std::span<const std::string_view> args, RedisCallback done) {
    command_at(redis_slot(key), args, std::move(done));
  }
  // Routed by an explicit slot (0..16383).
  void command_at(uint16_t slot, std::initializer_list<std::string_view> args, RedisCallback done) {
    command_at(slot, std::span<const std::string_view>(args.begin(), args.size()), std::move(done));
  }
  void command_at(uint16_t slot, std::span<const std::string_view> args, RedisCallback done);
  // EVALSHA script numkeys keys… args…, routed by the first key (slot 0 without keys). `script`
  // must outlive every command that uses it.
  void eval(const RedisScript& script, std::span<const std::string_view> keys, std::span<const std::string_view> args,
            RedisCallback done);

  // ---- Sharded pub/sub (see above) ----
  void ssubscribe(std::string_view channel);
  void sunsubscribe(std::string_view channel);
  // Confirmed by the node that serves it, now.
  bool subscribed(std::string_view channel) const;

  // A single Redis (cluster support disabled), as far as the last topology answer said.
  bool standalone() const noexcept { return standalone_; }
  bool topology_known() const noexcept { return topology_known_; }
  // The address of the node that serves `slot` now (as far as this client knows).
  SocketAddress node_of(uint16_t slot) const;
  const RedisClusterStats& stats() const noexcept { return stats_; }
  Loop& loop() noexcept { return loop_; }
  // Any thread: delivery proven at `steady_ms` (steady_clock milliseconds) on every subscriber
  // connection probed; `age_ms` says since when it is not (0 when it is).
  static bool proven(const RedisClusterStats& stats, uint64_t steady_ms, uint64_t& age_ms) noexcept;

 private:
  static constexpr uint16_t kNone = 0xffff;
  static uint16_t redis_slot(std::string_view key) noexcept;

  // One Redis node, as this shard sees it.
  struct SubRequest {
    enum Kind : uint8_t { subscribe, unsubscribe, ping } kind;
    std::string channel;
    uint64_t sent_ms;
  };
  // The probe of one node's subscriber connection. Times in steady_clock microseconds.
  struct Probe {
    std::string channel;      // empty: the node is not probed
    uint16_t slot = 0;
    bool active = false;      // its SSUBSCRIBE was confirmed on the connection up now
    uint64_t sent = 0;        // the last probe's sequence number
    uint64_t back = 0;        // the last sequence number back (or given up as lost)
    uint64_t sent_us = 0;     // when the last was published
    uint64_t back_us = 0;     // when one last came back (or probing began: a new probe's grace)
    uint64_t proven_us = 0;   // when one last came back (0: none yet)
    uint64_t watch_us = 0;    // the timeout counts from the later of this and back_us
  };
  struct Node {
    SocketAddress address;
    std::string tls_name;                     // TLS: the name its certificate must carry
    std::unique_ptr<RedisClient> link;        // commands
    std::unique_ptr<RedisClient> subscriber;  // sharded pub/sub
    CommandQueue queue;
    std::deque<SubRequest> requests;          // subscriber: (un)subscribe and PING awaiting answers
    uint64_t subscriber_heard_ms = 0;         // subscriber: when it last received or was sent a PING
    uint32_t channels = 0;                    // channels placed on it (the probe's not counted)
    Probe probe;
    uint32_t script_loads = 0;                // SCRIPT LOAD replies awaited before the queue's
    bool serves = false;                      // the last topology gave it slots
    bool link_failed = false;                 // its last connection attempt failed: commands are refused
  };
  struct Channel {
    enum State : uint8_t { idle, requested, active };
    uint16_t slot = 0;
    uint16_t node = kNone;     // where it is (being) subscribed
    State state = idle;
    bool lost = false;         // it was confirmed and then lost: its next confirmation is a restoration
    bool confirmed_once = false;
  };
  // Commands that wait for the answers of commands sent to their slot's former owner.
  struct Held {
    std::string bytes;
    RedisCallback done;
    const RedisScript* script;
    uint32_t tail;
  };
  struct Hold {
    uint16_t slot;
    uint32_t waiting;  // commands in flight at the former owner
    std::vector<Held> commands;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct TickTimer : Timer {
    explicit TickTimer(RedisCluster* c) noexcept : Timer(&fire), self(c) {}
    static void fire(Timer& t) { static_cast<TickTimer&>(t).self->tick(); }
    RedisCluster* self;
  };

  // ---- Nodes and connections (redis_cluster.cpp) ----
  uint16_t node_at(const SocketAddress& address, std::string_view tls_name);
  RedisClientOptions client_options(const Node& n, const char* role) const;
  void ensure_link(uint16_t index);
  void on_link_up(uint16_t index);
  void on_link_down(uint16_t index, bool attempt_failed);
  void flush(Node& n);
  void tick();
  void check_timeouts(uint64_t now);
  void retire_idle_nodes();

  // ---- Commands ----
  // Queues a command of `size` bytes for `slot` (held, or at its owner), written by `write(out)`.
  template <typename Write>
  void submit(uint16_t slot, CommandQueue::Entry entry, size_t size, Write&& write);
  // Queues `entry` with `bytes` at node `index`, or fails it (not_sent) when the node cannot take it.
  void send_to(uint16_t index, CommandQueue::Entry entry, std::string_view bytes);
  uint8_t* reserve_at(uint16_t index, CommandQueue::Entry& entry, size_t size);
  void on_reply(uint16_t index, const RespParser& p, const RespValue& v);
  void redirect(uint16_t from, CommandQueue::Entry entry, const Redirect& r, const RespParser& p, const RespValue& v);
  // The node a MOVED or ASK from node `from` names (kNone for a host name, not resolved here).
  uint16_t node_for(const Redirect& r, uint16_t from);
  void retry_with_eval(uint16_t index, CommandQueue::Entry entry);
  void fail(RedisCallback& done, RedisOutcome outcome);
  void fail_later(RedisCallback done, RedisOutcome outcome);
  void fail_queue(Node& n);
  // Holds: later commands of `slot` wait for those in flight at `former`.
  void hold_slot(uint16_t former, uint16_t slot);
  void release_hold(uint16_t slot);
  Hold* hold_of(uint16_t slot) noexcept;
  void load_scripts(Node& n);

  // ---- Topology ----
  void request_refresh();
  void refresh();
  void on_topology(uint16_t index, const RespParser& p, const RespValue& v);
  void apply(const ClusterTopology& t);
  void serve_all_from(uint16_t index);

  // ---- Sharded pub/sub (redis_cluster_pubsub.cpp) ----
  void ensure_subscriber(uint16_t index);
  void on_subscriber_up(uint16_t index);
  void on_subscriber_down(uint16_t index);
  void on_subscriber_reply(uint16_t index, const RespParser& p, const RespValue& v);
  void place(const std::string& name, Channel& ch);
  void unplace(const std::string& name, Channel& ch);
  void write_request(Node& n, SubRequest::Kind kind, std::string_view channel);
  void confirm(const std::string& name, Channel& ch);
  void lose(Channel& ch);
  void follow_topology();
  void place_waiting();

  // ---- Probes (redis_cluster_probe.cpp) ----
  void probe_tick();
  void start_probe(uint16_t index, uint64_t now_us);
  void stop_probe(Node& n);
  void probe_connected(Node& n);  // its subscriber connection is up: the probe channel subscribed again
  void probe_confirmed(Node& n);
  void publish_probe(Node& n, uint64_t now_us);
  void on_probe(Node& n, std::string_view message);
  bool is_probe(const Node& n, std::string_view channel) const noexcept {
    return !n.probe.channel.empty() && n.probe.channel == channel;
  }

  Loop& loop_;
  const RedisClusterOptions options_;
  Events events_;
  TickTimer tick_{this};
  std::vector<std::unique_ptr<Node>> nodes_;    // by index; null where a node was let go
  std::vector<std::unique_ptr<Node>> retired_;  // let go, destroyed at the next tick (never inside their callbacks)
  std::vector<uint16_t> owner_;                 // slot → node index
  std::vector<Hold> holds_;
  std::vector<const RedisScript*> scripts_;     // used once: loaded on every new connection
  std::unordered_map<std::string, Channel, StringHash, std::equal_to<>> channels_;
  std::string scratch_;                         // a redirected command's bytes
  uint16_t seed_ = kNone;
  uint16_t refresh_node_ = kNone;               // asked for the topology, answer awaited
  uint32_t refresh_cursor_ = 0;
  uint64_t next_refresh_ms_ = 0;
  uint64_t last_refresh_ms_ = 0;
  bool refresh_again_ = false;
  bool standalone_ = false;
  bool topology_known_ = false;
  bool started_ = false;
  bool stopped_ = false;
  RedisClusterStats stats_;
};

}  // namespace ringcast
