// RedisCluster: nodes and their connections, commands, redirections and the topology. Sharded
// pub/sub is in redis_cluster_pubsub.cpp.
#include <ringcast/net/redis/redis_cluster.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/detail/cluster_topology.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/net/redis/key_slot.hpp>
#include <ringcast/net/redis/redis_script.hpp>

namespace ringcast {
namespace {

constexpr uint64_t kTickMs = 100;
constexpr std::string_view kClusterShards = "*2\r\n$7\r\nCLUSTER\r\n$6\r\nSHARDS\r\n";
constexpr std::string_view kAsking = "*1\r\n$6\r\nASKING\r\n";

bool same_address(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<SocketAddress> numeric_address(std::string_view host, uint16_t port) {
  return SocketAddress::parse(host.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", host, port)
                                                                       : fmt::format("{}:{}", host, port));
}

// The host part of an address's text ("127.0.0.1:7000" → "127.0.0.1", "[::1]:7000" → "::1").
std::string host_of(const SocketAddress& a) {
  std::string s = a.to_string();
  s.erase(s.rfind(':'));
  if (!s.empty() && s.front() == '[') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

RedisCluster::RedisCluster(Loop& loop, RedisClusterOptions options, Events events)
    : loop_(loop), options_(std::move(options)), events_(std::move(events)), owner_(kRedisSlots, kNone) {
  stats_.proven_until_ms.set(UINT64_MAX);  // nothing to prove yet
}

RedisCluster::~RedisCluster() {
  // stop() ran on the shard's thread (the owner's duty); the connections are closed.
}

uint16_t RedisCluster::redis_slot(std::string_view key) noexcept { return redis_key_slot(key); }

void RedisCluster::start() {
  if (started_) return;
  started_ = true;
  seed_ = node_at(options_.seed.address, options_.seed.host);
  nodes_[seed_]->serves = true;  // until the topology says who does
  std::fill(owner_.begin(), owner_.end(), seed_);
  refresh();
  loop_.timers().schedule_in(tick_, kTickMs);
}

void RedisCluster::stop() {
  if (stopped_) return;
  stopped_ = true;
  loop_.timers().cancel(tick_);
  // Stopping a connection that was up fails what was written on it (unknown); what waited for a
  // connection is failed after (not_sent).
  // By index: callbacks run meanwhile.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i] && nodes_[i]->link) nodes_[i]->link->stop();
    if (nodes_[i] && nodes_[i]->subscriber) nodes_[i]->subscriber->stop();
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]) fail_queue(*nodes_[i]);
  }
  std::vector<Hold> holds = std::move(holds_);
  holds_.clear();
  for (Hold& h : holds) {
    for (Held& c : h.commands) fail(c.done, RedisOutcome::not_sent);
  }
}

SocketAddress RedisCluster::node_of(uint16_t slot) const {
  const uint16_t i = owner_[slot & (kRedisSlots - 1)];
  return i != kNone && nodes_[i] ? nodes_[i]->address : SocketAddress();
}

// ---------------------------------------------------------------------------------------------
// Nodes and connections

uint16_t RedisCluster::node_at(const SocketAddress& address, std::string_view tls_name) {
  size_t free = nodes_.size();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]) {
      if (free == nodes_.size()) free = i;
    } else if (same_address(nodes_[i]->address, address)) {
      // A name learnt later (the topology's hostname) serves connections not made yet.
      if (!tls_name.empty() && !nodes_[i]->link && !nodes_[i]->subscriber) nodes_[i]->tls_name = std::string(tls_name);
      return static_cast<uint16_t>(i);
    }
  }
  auto n = std::make_unique<Node>();
  n->address = address;
  n->tls_name = tls_name.empty() ? host_of(address) : std::string(tls_name);
  if (free == nodes_.size()) nodes_.emplace_back();
  nodes_[free] = std::move(n);
  return static_cast<uint16_t>(free);
}

RedisClientOptions RedisCluster::client_options(const Node& n, const char* role) const {
  RedisClientOptions o = RedisClientOptions::from(options_.seed, role);
  o.address = n.address;
  o.server_name = n.tls_name;
  o.limits = options_.limits;
  o.connect_timeout = options_.connect_timeout;
  o.min_backoff = options_.min_backoff;
  o.max_backoff = options_.max_backoff;
  return o;
}

void RedisCluster::ensure_link(uint16_t index) {
  Node& n = *nodes_[index];
  if (n.link || stopped_) return;
  n.link = std::make_unique<RedisClient>(
      loop_, client_options(n, "redis cluster"),
      RedisClient::Events{
          .on_connected = [this, index] { on_link_up(index); },
          .on_reply = [this, index](const RespParser& p, const RespValue& v) { on_reply(index, p, v); },
          .on_disconnected = [this, index](int) { on_link_down(index, false); },
          .on_connect_failed = [this, index](int) { on_link_down(index, true); },
      });
  n.link->start();
}

void RedisCluster::on_link_up(uint16_t index) {
  Node& n = *nodes_[index];
  n.link_failed = false;
  load_scripts(n);
  flush(n);
}

void RedisCluster::on_link_down(uint16_t index, bool attempt_failed) {
  if (!nodes_[index]) return;
  Node& n = *nodes_[index];
  if (attempt_failed) n.link_failed = true;
  if (!attempt_failed && !stopped_) stats_.connections_lost.add();
  n.script_loads = 0;
  fail_queue(n);
  if (n.serves) request_refresh();
}

void RedisCluster::load_scripts(Node& n) {
  Connection* c = n.link->connection();
  for (const RedisScript* s : scripts_) {
    const size_t size = RespWriter::array_size(3) + RespWriter::bulk_size(6) + RespWriter::bulk_size(4) +
                        RespWriter::bulk_size(s->source().size());
    RespWriter w(loop_.write_reserve(*c, size).data());
    w.array(3);
    w.bulk("SCRIPT");
    w.bulk("LOAD");
    w.bulk(s->source());
    loop_.write_commit(*c, w.written());
    ++n.script_loads;
  }
}

void RedisCluster::flush(Node& n) {
  Connection* c = n.link ? n.link->connection() : nullptr;
  if (!c || n.queue.waiting() == 0) return;
  const std::string_view bytes = n.queue.unsent();
  loop_.write(*c, bytes.data(), bytes.size());
  n.queue.mark_sent(loop_.shard().now_ms());
}

void RedisCluster::tick() {
  if (stopped_) return;
  if (loop_.shard().stopping()) {
    stop();
    return;
  }
  retired_.clear();  // never inside their own callbacks: this is a timer
  const uint64_t now = loop_.shard().now_ms();
  check_timeouts(now);
  probe_tick();
  // Something amiss (a serving node unreachable, a channel not confirmed): ask again soon.
  const bool unconfirmed = stats_.subscriptions.get() < channels_.size();
  if (unconfirmed) place_waiting();
  bool amiss = unconfirmed;
  for (auto& n : nodes_) amiss |= n && n->serves && n->link_failed;
  if (amiss && next_refresh_ms_ > last_refresh_ms_ + static_cast<uint64_t>(options_.refresh_retry.count())) {
    next_refresh_ms_ = last_refresh_ms_ + static_cast<uint64_t>(options_.refresh_retry.count());
  }
  if (now >= next_refresh_ms_) refresh();
  retire_idle_nodes();
  loop_.timers().schedule_in(tick_, kTickMs);
}

void RedisCluster::check_timeouts(uint64_t now) {
  const auto limit = static_cast<uint64_t>(options_.timeout.count());
  for (size_t i = 0; i < nodes_.size(); ++i) {  // by index: dropping a connection runs callbacks
    if (!nodes_[i]) continue;
    Node& n = *nodes_[i];
    if (n.link && n.link->up() && n.queue.in_flight() > 0 && n.queue.front().sent_ms + limit < now) {
      stats_.timeouts.add();
      log::warn("{} {}: no reply for {} ms; dropping the connection", options_.name, n.address.to_string(), now - n.queue.front().sent_ms);
      n.link->abort(-ETIMEDOUT);
    }
    if (!n.subscriber || !n.subscriber->up()) continue;
    if (!n.requests.empty() && n.requests.front().sent_ms + limit < now) {
      stats_.timeouts.add();
      log::warn("{} {}: subscriber silent for {} ms; dropping the connection", options_.name, n.address.to_string(),
                now - n.requests.front().sent_ms);
      n.subscriber->abort(-ETIMEDOUT);
    } else if (n.requests.empty() && n.channels > 0 &&
               now - n.subscriber_heard_ms >= static_cast<uint64_t>(options_.ping_interval.count())) {
      write_request(n, SubRequest::ping, {});
      n.subscriber_heard_ms = now;
    }
  }
}

void RedisCluster::retire_idle_nodes() {
  std::vector<bool> idle(nodes_.size(), false);
  bool any = false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node* n = nodes_[i].get();
    idle[i] = n && !n->serves && n->queue.empty() && n->channels == 0 && n->requests.empty() && i != refresh_node_;
    any |= idle[i];
  }
  if (!any) return;
  // A node a MOVED answer named owns its slot until the topology says otherwise.
  for (uint16_t owner : owner_) {
    if (owner != kNone) idle[owner] = false;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!idle[i]) continue;
    std::unique_ptr<Node> gone = std::move(nodes_[i]);
    if (gone->link) gone->link->stop();
    if (gone->subscriber) gone->subscriber->stop();
    retired_.push_back(std::move(gone));
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

void RedisCluster::command_at(uint16_t slot, std::span<const std::string_view> args, RedisCallback done) {
  stats_.commands.add();
  size_t size = RespWriter::array_size(args.size());
  for (std::string_view a : args) size += RespWriter::bulk_size(a.size());
  slot &= kRedisSlots - 1;
  submit(slot, CommandQueue::Entry{.callback = std::move(done), .slot = slot}, size, [&](uint8_t* out) {
    RespWriter w(out);
    w.array(args.size());
    for (std::string_view a : args) w.bulk(a);
  });
}

void RedisCluster::eval(const RedisScript& script, std::span<const std::string_view> keys,
                        std::span<const std::string_view> args, RedisCallback done) {
  stats_.commands.add();
  if (std::find(scripts_.begin(), scripts_.end(), &script) == scripts_.end()) scripts_.push_back(&script);
  char numkeys[24];
  const auto [end, ec] = std::to_chars(numkeys, numkeys + sizeof numkeys, keys.size());
  const std::string_view count(numkeys, static_cast<size_t>(end - numkeys));
  const size_t items = 3 + keys.size() + args.size();
  const size_t head = RespWriter::array_size(items) + RespWriter::bulk_size(7) + RespWriter::bulk_size(script.sha1().size());
  size_t size = head + RespWriter::bulk_size(count.size());
  for (std::string_view k : keys) size += RespWriter::bulk_size(k.size());
  for (std::string_view a : args) size += RespWriter::bulk_size(a.size());
  const uint16_t slot = keys.empty() ? 0 : redis_key_slot(keys[0]);
  submit(slot,
         CommandQueue::Entry{.callback = std::move(done), .script = &script, .tail = static_cast<uint32_t>(head), .slot = slot},
         size, [&](uint8_t* out) {
           RespWriter w(out);
           w.array(items);
           w.bulk("EVALSHA");
           w.bulk(script.sha1());
           w.bulk(count);
           for (std::string_view k : keys) w.bulk(k);
           for (std::string_view a : args) w.bulk(a);
         });
}

template <typename Write>
void RedisCluster::submit(uint16_t slot, CommandQueue::Entry entry, size_t size, Write&& write) {
  if (stopped_ || !started_) {
    fail_later(std::move(entry.callback), RedisOutcome::not_sent);
    return;
  }
  if (Hold* h = hold_of(slot)) {
    Held c{std::string(size, '\0'), std::move(entry.callback), entry.script, entry.tail};
    write(reinterpret_cast<uint8_t*>(c.bytes.data()));
    h->commands.push_back(std::move(c));
    return;
  }
  const uint16_t index = owner_[slot];
  uint8_t* out = reserve_at(index, entry, size);
  if (!out) return;
  write(out);
  flush(*nodes_[index]);
}

uint8_t* RedisCluster::reserve_at(uint16_t index, CommandQueue::Entry& entry, size_t size) {
  Node& n = *nodes_[index];
  if (n.link_failed || n.queue.bytes() + size > options_.max_queued) {
    if (entry.kind == CommandQueue::Kind::topology) {
      if (refresh_node_ == index) refresh_node_ = kNone;
    } else if (entry.kind == CommandQueue::Kind::command) {
      fail_later(std::move(entry.callback), RedisOutcome::not_sent);
    }
    return nullptr;
  }
  ensure_link(index);
  return n.queue.append(std::move(entry), size);
}

void RedisCluster::send_to(uint16_t index, CommandQueue::Entry entry, std::string_view bytes) {
  uint8_t* out = reserve_at(index, entry, bytes.size());
  if (!out) return;
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  flush(*nodes_[index]);
}

void RedisCluster::on_reply(uint16_t index, const RespParser& p, const RespValue& v) {
  if (!nodes_[index]) return;
  Node& n = *nodes_[index];
  if (n.script_loads > 0) {  // SCRIPT LOADs written when the connection came up, before anything else
    --n.script_loads;
    if (v.type == RespType::error) log::warn("{} {}: SCRIPT LOAD: {}", options_.name, n.address.to_string(), v.text);
    return;
  }
  if (n.queue.in_flight() == 0) {
    log::error("{} {}: a reply to no command; dropping the connection", options_.name, n.address.to_string());
    n.link->abort(-EPROTO);
    return;
  }
  CommandQueue::Entry e = n.queue.pop_front();
  const bool drains = e.drains_hold;
  const uint16_t slot = e.slot;
  switch (e.kind) {
    case CommandQueue::Kind::asking:
      if (v.type == RespType::error) log::debug("{} {}: ASKING: {}", options_.name, n.address.to_string(), v.text);
      break;
    case CommandQueue::Kind::topology:
      on_topology(index, p, v);
      break;
    case CommandQueue::Kind::command: {
      Redirect r;
      if (v.type == RespType::error && parse_redirect(v.text, r)) {
        redirect(index, std::move(e), r, p, v);
      } else if (v.type == RespType::error && e.script && v.text.substr(0, 8) == "NOSCRIPT") {
        retry_with_eval(index, std::move(e));
      } else {
        RedisCallback done = std::move(e.callback);
        if (done) done(RedisReply(p, v));
      }
      break;
    }
  }
  if (drains) release_hold(slot);
}

void RedisCluster::redirect(uint16_t from, CommandQueue::Entry entry, const Redirect& r, const RespParser& p,
                            const RespValue& v) {
  if (entry.redirects >= options_.max_redirects) {
    log::warn("{}: a command for slot {} was redirected {} times; giving up", options_.name, r.slot, entry.redirects);
    fail(entry.callback, RedisOutcome::too_many_redirects);
    return;
  }
  Node& source = *nodes_[from];
  const uint16_t to = node_for(r, from);
  if (to == kNone) {
    // A host name (cluster-preferred-endpoint-type hostname): not resolved on a shard. The
    // topology, asked again, names the node with its IP.
    request_refresh();
    RedisCallback done = std::move(entry.callback);
    if (done) done(RedisReply(p, v));
    return;
  }
  scratch_.assign(source.queue.bytes_of(entry));  // before anything is appended anywhere
  if (r.ask) {
    stats_.asked.add();
  } else {
    stats_.moved.add();
    if (owner_[r.slot] != to) {
      hold_slot(from, r.slot);  // what was sent after it to the former owner goes first
      owner_[r.slot] = to;
    }
    request_refresh();
  }
  ++entry.redirects;
  entry.drains_hold = false;
  if (r.ask) send_to(to, CommandQueue::Entry{.kind = CommandQueue::Kind::asking}, kAsking);
  send_to(to, std::move(entry), scratch_);
}

uint16_t RedisCluster::node_for(const Redirect& r, uint16_t from) {
  const std::string host = r.host.empty() ? host_of(nodes_[from]->address) : std::string(r.host);
  const auto address = numeric_address(host, r.port);
  return address ? node_at(*address, {}) : kNone;
}

void RedisCluster::retry_with_eval(uint16_t index, CommandQueue::Entry entry) {
  Node& n = *nodes_[index];
  const std::string_view sent = n.queue.bytes_of(entry);
  const std::string_view header = sent.substr(0, sent.find("\r\n") + 2);  // "*N\r\n": the same count
  const std::string& source = entry.script->source();
  scratch_.assign(header);
  scratch_ += "$4\r\nEVAL\r\n";
  scratch_ += fmt::format("${}\r\n", source.size());
  scratch_ += source;
  scratch_ += "\r\n";
  scratch_ += sent.substr(entry.tail);
  entry.script = nullptr;
  entry.tail = 0;
  entry.drains_hold = false;
  ++entry.redirects;
  send_to(index, std::move(entry), scratch_);
}

void RedisCluster::fail(RedisCallback& done, RedisOutcome outcome) {
  if (outcome == RedisOutcome::not_sent) stats_.not_sent.add();
  if (outcome == RedisOutcome::unknown) stats_.unknown.add();
  RedisCallback f = std::move(done);
  if (f) f(RedisReply(outcome));
}

void RedisCluster::fail_later(RedisCallback done, RedisOutcome outcome) {
  stats_.not_sent.add();
  if (!done) return;
  // Never inside command(): a caller that tries again at once must not recurse.
  loop_.shard().defer([done = std::move(done), outcome](Shard&) { done(RedisReply(outcome)); });
}

void RedisCluster::fail_queue(Node& n) {
  // Only what is queued now: a callback may queue more, which stays.
  const size_t count = n.queue.size();
  const size_t in_flight = n.queue.in_flight();
  std::vector<uint16_t> drained;
  for (size_t k = 0; k < count; ++k) {
    CommandQueue::Entry e = n.queue.pop_front();
    if (e.drains_hold) drained.push_back(e.slot);
    switch (e.kind) {
      case CommandQueue::Kind::command:
        fail(e.callback, k < in_flight ? RedisOutcome::unknown : RedisOutcome::not_sent);
        break;
      case CommandQueue::Kind::topology:
        refresh_node_ = kNone;
        next_refresh_ms_ = last_refresh_ms_ + static_cast<uint64_t>(options_.refresh_retry.count());
        break;
      case CommandQueue::Kind::asking:
        break;
    }
  }
  for (uint16_t slot : drained) release_hold(slot);
}

// ---------------------------------------------------------------------------------------------
// Holds: commands of a slot whose owner changed wait for those still unanswered at the former owner.

RedisCluster::Hold* RedisCluster::hold_of(uint16_t slot) noexcept {
  for (Hold& h : holds_) {
    if (h.slot == slot) return &h;
  }
  return nullptr;
}

void RedisCluster::hold_slot(uint16_t former, uint16_t slot) {
  uint32_t count = 0;
  nodes_[former]->queue.for_each_in_flight([&](CommandQueue::Entry& e) {
    if (e.slot == slot && e.kind == CommandQueue::Kind::command && !e.drains_hold) {
      e.drains_hold = true;
      ++count;
    }
  });
  if (count == 0) return;
  Hold* h = hold_of(slot);
  if (!h) h = &holds_.emplace_back(Hold{slot, 0, {}});
  h->waiting += count;
}

void RedisCluster::release_hold(uint16_t slot) {
  Hold* h = hold_of(slot);
  if (!h || --h->waiting > 0) return;
  std::vector<Held> commands = std::move(h->commands);
  holds_.erase(holds_.begin() + (h - holds_.data()));
  for (Held& c : commands) {
    if (stopped_) {
      fail(c.done, RedisOutcome::not_sent);
    } else if (Hold* again = hold_of(slot)) {
      again->commands.push_back(std::move(c));
    } else {
      send_to(owner_[slot], CommandQueue::Entry{.callback = std::move(c.done), .script = c.script, .tail = c.tail, .slot = slot},
              c.bytes);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Topology

void RedisCluster::request_refresh() {
  if (stopped_ || !started_) return;
  if (refresh_node_ != kNone) {
    refresh_again_ = true;
    return;
  }
  const uint64_t now = loop_.shard().now_ms();
  const uint64_t soonest = last_refresh_ms_ + static_cast<uint64_t>(options_.refresh_retry.count());
  if (now >= soonest) {
    refresh();
  } else if (next_refresh_ms_ > soonest) {
    next_refresh_ms_ = soonest;
  }
}

void RedisCluster::refresh() {
  if (stopped_) return;
  if (refresh_node_ != kNone) {
    refresh_again_ = true;
    return;
  }
  const uint64_t now = loop_.shard().now_ms();
  last_refresh_ms_ = now;
  next_refresh_ms_ = now + static_cast<uint64_t>(options_.refresh_interval.count());
  // Ask a serving node that is up, else one that may come up, else the seed; in turn.
  uint16_t pick = kNone;
  for (int pass = 0; pass < 2 && pick == kNone; ++pass) {
    for (size_t k = 0; k < nodes_.size() && pick == kNone; ++k) {
      const size_t i = (refresh_cursor_ + k) % nodes_.size();
      const Node* n = nodes_[i].get();
      if (n && n->serves && !n->link_failed && (pass == 1 || (n->link && n->link->up()))) pick = static_cast<uint16_t>(i);
    }
  }
  if (pick == kNone) pick = node_at(options_.seed.address, options_.seed.host);
  refresh_cursor_ = pick + 1u;
  refresh_node_ = pick;
  send_to(pick, CommandQueue::Entry{.kind = CommandQueue::Kind::topology}, kClusterShards);
  if (refresh_node_ == kNone) {  // refused at once: its node cannot be reached now
    next_refresh_ms_ = now + static_cast<uint64_t>(options_.refresh_retry.count());
    ++refresh_cursor_;
  }
}

void RedisCluster::on_topology(uint16_t index, const RespParser& p, const RespValue& v) {
  refresh_node_ = kNone;
  if (v.type == RespType::error) {
    if (v.text.find("cluster support disabled") != std::string_view::npos) {
      if (!standalone_) log::info("{} {}: a single Redis (cluster support disabled)", options_.name, nodes_[index]->address.to_string());
      standalone_ = true;
      serve_all_from(index);
      stats_.refreshes.add();
    } else {
      log::warn("{} {}: CLUSTER SHARDS: {}; routing by MOVED answers alone", options_.name,
                nodes_[index]->address.to_string(), v.text);
    }
  } else {
    ClusterTopology t;
    std::string why;
    if (parse_cluster_shards(p, v, options_.seed.tls != nullptr, t, why)) {
      standalone_ = false;
      apply(t);
      stats_.refreshes.add();
    } else {
      log::warn("{} {}: CLUSTER SHARDS: {}", options_.name, nodes_[index]->address.to_string(), why);
    }
  }
  if (refresh_again_) {
    refresh_again_ = false;
    request_refresh();
  }
}

void RedisCluster::apply(const ClusterTopology& t) {
  std::vector<uint16_t> owner = owner_;  // slots no shard claims stay where they were
  std::vector<uint16_t> serving;
  serving.reserve(t.nodes.size());
  for (const ClusterTopology::Node& tn : t.nodes) {
    const auto address = numeric_address(tn.ip, tn.port);
    serving.push_back(address ? node_at(*address, tn.hostname) : kNone);
  }
  for (const ClusterTopology::Range& r : t.ranges) {
    if (serving[r.node] == kNone) continue;
    std::fill(owner.begin() + r.first, owner.begin() + r.last + 1, serving[r.node]);
  }
  // Commands in flight at a node that no longer serves their slot go first: later ones wait.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]) continue;
    nodes_[i]->queue.for_each_in_flight([&](CommandQueue::Entry& e) {
      if (e.kind != CommandQueue::Kind::command || e.drains_hold || owner[e.slot] == i) return;
      e.drains_hold = true;
      Hold* h = hold_of(e.slot);
      if (!h) h = &holds_.emplace_back(Hold{e.slot, 0, {}});
      ++h->waiting;
    });
  }
  owner_ = std::move(owner);
  uint64_t count = 0;
  for (auto& n : nodes_) {
    if (n) n->serves = false;
  }
  for (uint16_t i : serving) {
    if (i != kNone && !nodes_[i]->serves) {
      nodes_[i]->serves = true;
      ++count;
    }
  }
  stats_.nodes.set(count);
  topology_known_ = true;
  follow_topology();
}

void RedisCluster::serve_all_from(uint16_t index) {
  ClusterTopology t;
  const std::string host = host_of(nodes_[index]->address);
  t.nodes.push_back({host, {}, nodes_[index]->address.port(), true});
  t.ranges.push_back({0, kRedisSlots - 1, 0});
  apply(t);
}

}  // namespace ringcast
