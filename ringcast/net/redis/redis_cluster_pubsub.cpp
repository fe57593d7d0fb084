// RedisCluster: sharded pub/sub. A channel is placed at the node serving its slot and subscribed on
// that node's subscriber connection; it follows its slot when the topology, a MOVED answer or a
// pushed `sunsubscribe` says the slot went elsewhere. Every loss of a confirmed subscription marks
// the channel, and its next confirmation is announced with on_resubscribed.
//
// The subscriber connection's replies come in the order of its requests (SSUBSCRIBE, SUNSUBSCRIBE,
// PING: one reply each), except `smessage` and the `sunsubscribe` Redis pushes by itself when a
// slot leaves the node: a `sunsubscribe` that does not answer the oldest request is such a push.
#include <ringcast/net/redis/redis_cluster.hpp>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/detail/cluster_topology.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/net/redis/key_slot.hpp>

namespace ringcast {

void RedisCluster::ssubscribe(std::string_view channel) {
  if (stopped_ || !started_) return;
  auto [it, inserted] = channels_.try_emplace(std::string(channel));
  if (!inserted) return;
  it->second.slot = redis_key_slot(channel);
  place(it->first, it->second);
}

void RedisCluster::sunsubscribe(std::string_view channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  unplace(it->first, it->second);
  channels_.erase(it);
}

bool RedisCluster::subscribed(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.state == Channel::active;
}

void RedisCluster::ensure_subscriber(uint16_t index) {
  Node& n = *nodes_[index];
  if (n.subscriber || stopped_) return;
  n.subscriber = std::make_unique<RedisClient>(
      loop_, client_options(n, "redis cluster subscriber"),
      RedisClient::Events{
          .on_connected = [this, index] { on_subscriber_up(index); },
          .on_reply = [this, index](const RespParser& p, const RespValue& v) { on_subscriber_reply(index, p, v); },
          .on_disconnected = [this, index](int) { on_subscriber_down(index); },
          .on_connect_failed = [this](int) { request_refresh(); },
      });
  n.subscriber->start();
}

void RedisCluster::write_request(Node& n, SubRequest::Kind kind, std::string_view channel) {
  Connection* c = n.subscriber->connection();
  const uint64_t now = loop_.shard().now_ms();
  if (kind == SubRequest::ping) {
    loop_.write(*c, "*1\r\n$4\r\nPING\r\n");
  } else {
    const std::string_view command = kind == SubRequest::subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
    const size_t size = RespWriter::array_size(2) + RespWriter::bulk_size(command.size()) + RespWriter::bulk_size(channel.size());
    RespWriter w(loop_.write_reserve(*c, size).data());
    w.array(2);
    w.bulk(command);
    w.bulk(channel);
    loop_.write_commit(*c, w.written());
  }
  n.requests.push_back(SubRequest{kind, std::string(channel), now});
}

void RedisCluster::place(const std::string& name, Channel& ch) {
  const uint16_t index = owner_[ch.slot];
  Node& n = *nodes_[index];
  ch.node = index;
  ch.state = Channel::idle;
  ++n.channels;
  // A node without a probe yet: delivery there is unproven until the tick starts one and it is back.
  if (n.probe.channel.empty() && !options_.probe_channel.empty() && options_.probe_interval.count() > 0) {
    stats_.proven_until_ms.set(0);
  }
  ensure_subscriber(index);
  if (n.subscriber && n.subscriber->up()) {
    write_request(n, SubRequest::subscribe, name);
    ch.state = Channel::requested;
  }
}

void RedisCluster::unplace(const std::string& name, Channel& ch) {
  if (ch.node == kNone) return;
  if (Node* n = nodes_[ch.node].get()) {
    --n->channels;
    if (ch.state != Channel::idle && n->subscriber && n->subscriber->up()) write_request(*n, SubRequest::unsubscribe, name);
  }
  if (ch.state == Channel::active) stats_.subscriptions.sub();
  ch.node = kNone;
  ch.state = Channel::idle;
}

void RedisCluster::lose(Channel& ch) {
  if (ch.state == Channel::active) {
    ch.lost = true;
    stats_.subscriptions.sub();
  }
  ch.state = Channel::idle;
}

void RedisCluster::confirm(const std::string& name, Channel& ch) {
  ch.state = Channel::active;
  stats_.subscriptions.add();
  const bool restored = ch.lost;
  const bool first = !ch.confirmed_once;
  ch.lost = false;
  ch.confirmed_once = true;
  // The callback may unsubscribe (and so erase `ch` and `name`): nothing of them is used after it.
  if (restored) {
    stats_.resubscribed.add();
    if (events_.on_resubscribed) events_.on_resubscribed(std::string(name));
  } else if (first && events_.on_subscribed) {
    events_.on_subscribed(std::string(name));
  }
}

void RedisCluster::on_subscriber_up(uint16_t index) {
  Node& n = *nodes_[index];
  n.requests.clear();
  n.subscriber_heard_ms = loop_.shard().now_ms();
  probe_connected(n);
  for (auto& [name, ch] : channels_) {
    if (ch.node == index && ch.state == Channel::idle) {
      write_request(n, SubRequest::subscribe, name);
      ch.state = Channel::requested;
    }
  }
}

void RedisCluster::on_subscriber_down(uint16_t index) {
  if (!nodes_[index]) return;
  nodes_[index]->requests.clear();
  nodes_[index]->probe.active = false;
  if (!stopped_) stats_.connections_lost.add();
  // They are asked for again when the connection is back, or where the topology sends them.
  for (auto& [name, ch] : channels_) {
    if (ch.node == index) lose(ch);
  }
  request_refresh();
}

void RedisCluster::on_subscriber_reply(uint16_t index, const RespParser& p, const RespValue& v) {
  if (!nodes_[index]) return;
  Node& n = *nodes_[index];
  n.subscriber_heard_ms = loop_.shard().now_ms();
  if (v.type == RespType::error) {
    if (n.requests.empty()) {
      log::warn("{} {}: subscriber: {}", options_.name, n.address.to_string(), v.text);
      return;
    }
    const SubRequest r = std::move(n.requests.front());
    n.requests.pop_front();
    if (r.kind != SubRequest::subscribe) return;
    if (is_probe(n, r.channel)) {  // MOVED, most likely: the topology will place it again
      log::debug("{} {}: SSUBSCRIBE {}: {}", options_.name, n.address.to_string(), r.channel, v.text);
      request_refresh();
      return;
    }
    auto it = channels_.find(r.channel);
    if (it == channels_.end() || it->second.node != index || it->second.state != Channel::requested) return;
    Channel& ch = it->second;
    --n.channels;
    ch.node = kNone;
    ch.state = Channel::idle;
    Redirect moved;
    if (parse_redirect(v.text, moved) && !moved.ask) {
      if (const uint16_t to = node_for(moved, index); to != kNone) {
        owner_[moved.slot] = to;
        place(it->first, ch);
      }
    } else {
      log::warn("{} {}: SSUBSCRIBE {}: {}; trying again", options_.name, n.address.to_string(), it->first, v.text);
    }
    request_refresh();  // an unplaced channel is placed again at the next tick
    return;
  }
  if (v.type != RespType::array || v.integer < 2 || p.child(v, 0).type != RespType::bulk) return;
  const std::string_view kind = p.child(v, 0).text;
  const std::string_view channel = p.child(v, 1).text;
  const bool answers = !n.requests.empty() && n.requests.front().channel == channel &&
                       ((kind == "ssubscribe" && n.requests.front().kind == SubRequest::subscribe) ||
                        (kind == "sunsubscribe" && n.requests.front().kind == SubRequest::unsubscribe) ||
                        (kind == "pong" && n.requests.front().kind == SubRequest::ping));
  if (kind == "smessage" && v.integer == 3) {
    if (is_probe(n, channel)) {
      on_probe(n, p.child(v, 2).text);
      return;
    }
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.node != index) return;  // unsubscribed, or moved: not ours here
    stats_.messages.add();
    if (events_.on_message) events_.on_message(channel, p.child(v, 2).text);
    return;
  }
  if (answers) n.requests.pop_front();
  if (is_probe(n, channel)) {
    if (kind == "ssubscribe") probe_confirmed(n);
    if (kind == "sunsubscribe" && !answers) {  // its slot left the node: moved once the topology says where
      n.probe.active = false;
      request_refresh();
    }
    return;
  }
  if (kind == "ssubscribe") {
    auto it = channels_.find(channel);
    if (it != channels_.end() && it->second.node == index && it->second.state == Channel::requested) {
      confirm(it->first, it->second);
    }
  } else if (kind == "sunsubscribe" && !answers) {
    // Pushed: the node no longer serves the channel's slot (it moved, or the node became a replica).
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.node != index) return;
    Channel& ch = it->second;
    lose(ch);
    --n.channels;
    ch.node = kNone;
    request_refresh();
    place(it->first, ch);  // at the owner this client knows; MOVED corrects it if that is stale
  }
}

void RedisCluster::follow_topology() {
  for (auto& [name, ch] : channels_) {
    if (ch.node == owner_[ch.slot]) continue;
    const bool was_active = ch.state == Channel::active;
    unplace(name, ch);
    if (was_active) ch.lost = true;
    place(name, ch);
  }
}

void RedisCluster::place_waiting() {
  for (auto& [name, ch] : channels_) {
    if (ch.node == kNone) place(name, ch);
  }
}

}  // namespace ringcast
