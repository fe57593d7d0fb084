#include <ringcast/ws/detail/metrics.hpp>

#include <fmt/format.h>

#include <ringcast/core/shard.hpp>
#include <ringcast/net/backend/net_stats.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>
#include <ringcast/ws/rooms/broker_bridge.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {
namespace {

struct Family {
  const char* name;
  const char* type;  // counter or gauge
  const char* help;
};

template <typename Get>
void family(std::string& out, const Family& f, const std::vector<ShardView>& shards, Get get) {
  fmt::format_to(std::back_inserter(out), "# HELP ringcast_{} {}\n# TYPE ringcast_{} {}\n", f.name, f.help, f.name, f.type);
  for (size_t i = 0; i < shards.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "ringcast_{}{{shard=\"{}\"}} {}\n", f.name, i, get(shards[i]));
  }
}

}  // namespace

std::string format_metrics(const std::vector<ShardView>& shards) {
  std::string out;
  auto core = [&](const Family& f, Counter ShardStats::*c) {
    family(out, f, shards, [c](const ShardView& v) { return v.shard ? (v.shard->stats().*c).get() : 0; });
  };
  auto net = [&](const Family& f, Counter NetStats::*c) {
    family(out, f, shards, [c](const ShardView& v) { return v.net ? (v.net->*c).get() : 0; });
  };
  auto ws = [&](const Family& f, Counter WebSocketStats::*c) {
    family(out, f, shards, [c](const ShardView& v) {
      uint64_t sum = 0;
      for (const auto* r : v.routes) sum += r ? (r->stats().*c).get() : 0;
      return sum;
    });
  };
  auto rooms = [&](const Family& f, Counter RoomStats::*c) {
    family(out, f, shards, [c](const ShardView& v) { return v.rooms ? (v.rooms->stats().*c).get() : 0; });
  };
  core({"loop_iterations_total", "counter", "event loop iterations"}, &ShardStats::loop_iterations);
  core({"loop_sleeps_total", "counter", "iterations that blocked waiting for events"}, &ShardStats::loop_sleeps);
  core({"cpu_yields_total", "counter", "times the loop offered its CPU to other threads"}, &ShardStats::cpu_yields);
  fmt::format_to(std::back_inserter(out),
                 "# HELP ringcast_loop_busy_seconds_total time spent working (not waiting for events)\n"
                 "# TYPE ringcast_loop_busy_seconds_total counter\n");
  for (size_t i = 0; i < shards.size(); ++i) {
    const double s = shards[i].shard ? static_cast<double>(shards[i].shard->stats().busy_ns.get()) / 1e9 : 0;
    fmt::format_to(std::back_inserter(out), "ringcast_loop_busy_seconds_total{{shard=\"{}\"}} {:.6f}\n", i, s);
  }
  core({"mesh_sent_total", "counter", "tasks sent to other shards"}, &ShardStats::mesh_sent);
  core({"mesh_received_total", "counter", "tasks run for other shards"}, &ShardStats::mesh_received);
  core({"mesh_backlogged_total", "counter", "tasks that waited for room in a full queue"}, &ShardStats::mesh_backlogged);
  core({"mesh_backlog", "gauge", "tasks waiting for room right now"}, &ShardStats::mesh_backlog_now);
  core({"mesh_wakeups_total", "counter", "sleeping shards woken"}, &ShardStats::wakeups_sent);
  core({"timers_fired_total", "counter", "timers fired"}, &ShardStats::timers_fired);
  net({"connections", "gauge", "TCP connections held"}, &NetStats::connections_open);
  net({"connections_total", "counter", "TCP connections accepted or opened"}, &NetStats::connections_total);
  net({"accept_errors_total", "counter", "failed accepts (EMFILE, ENFILE, ...)"}, &NetStats::accept_errors);
  net({"accepts_refused_total", "counter", "connections reset at once: their address over its accept rate"},
      &NetStats::accepts_refused);
  net({"accept_pauses_total", "counter", "times a listener stopped accepting: the server over its accept rate"},
      &NetStats::accept_pauses);
  net({"tls_errors_total", "counter", "TLS connections ended by a failed handshake or a bad record"}, &NetStats::tls_errors);
  net({"bytes_in_total", "counter", "bytes received"}, &NetStats::bytes_in);
  net({"bytes_out_total", "counter", "bytes sent"}, &NetStats::bytes_out);
  net({"sends_total", "counter", "send operations"}, &NetStats::sends);
  net({"submits_total", "counter", "io_uring_enter or epoll_wait calls"}, &NetStats::submits);
  net({"read_pauses_total", "counter", "times reading stopped for pending output"}, &NetStats::read_pauses);
  net({"mesh_pauses_total", "counter", "times reading stopped for a backlog to another shard"}, &NetStats::mesh_pauses);
  net({"output_queued_bytes", "gauge", "bytes waiting in output queues"}, &NetStats::output_bytes_queued);
  ws({"websockets", "gauge", "open WebSockets"}, &WebSocketStats::open);
  ws({"websocket_messages_in_total", "counter", "messages received"}, &WebSocketStats::messages_in);
  ws({"websocket_messages_out_total", "counter", "messages sent (not counting room deliveries)"}, &WebSocketStats::messages_out);
  ws({"websocket_protocol_errors_total", "counter", "connections failed with 1002/1007/1009"}, &WebSocketStats::protocol_errors);
  ws({"websocket_dropped_total", "counter", "sends dropped over max_backpressure"}, &WebSocketStats::dropped);
  ws({"websocket_closed_too_big_total", "counter", "connections closed with 1009: a message over max_message_size"},
     &WebSocketStats::too_big);
  ws({"websocket_closed_shard_budget_total", "counter",
      "connections closed with 1013: the shard's budget for messages in progress was spent"},
     &WebSocketStats::shard_budget);
  ws({"websocket_closed_inflate_budget_total", "counter", "connections closed with 1008: inflating faster than allowed"},
     &WebSocketStats::inflate_budget);
  ws({"websocket_inflated_bytes_total", "counter", "bytes produced by inflating compressed messages"},
     &WebSocketStats::inflated_bytes);
  family(out, {"websocket_partial_message_bytes", "gauge", "bytes held by messages in progress (buffers, inflate streams)"},
         shards, [](const ShardView& v) { return v.budget ? v.budget->held.get() : 0; });
  rooms({"rooms", "gauge", "rooms this shard knows of"}, &RoomStats::rooms);
  rooms({"room_subscriptions", "gauge", "local room memberships"}, &RoomStats::subscriptions);
  rooms({"room_published_total", "counter", "publishes started"}, &RoomStats::published);
  rooms({"room_forwarded_total", "counter", "publications handed to other shards"}, &RoomStats::forwarded);
  rooms({"room_deliveries_total", "counter", "frames queued to local members"}, &RoomStats::deliveries);
  rooms({"room_skipped_slow_total", "counter", "deliveries skipped for slow members"}, &RoomStats::skipped_slow);
  rooms({"room_closed_slow_total", "counter", "members closed for being too slow"}, &RoomStats::closed_slow);
  if (!shards.empty() && shards[0].broker) {
    auto broker = [&](const Family& f, Counter BrokerStats::*c) {
      family(out, f, shards, [c](const ShardView& v) { return v.broker ? (v.broker->*c).get() : 0; });
    };
    broker({"broker_out_total", "counter", "messages published to other nodes (PUBLISH)"}, &BrokerStats::published);
    broker({"broker_acknowledged_total", "counter", "PUBLISHes Redis acknowledged"}, &BrokerStats::acknowledged);
    broker({"broker_in_total", "counter", "messages from other nodes delivered here"}, &BrokerStats::received);
    broker({"broker_echoes_total", "counter", "own messages back from the broker (ignored)"}, &BrokerStats::echoes);
    broker({"broker_dropped_total", "counter", "publishes dropped: broker down or too far behind"}, &BrokerStats::dropped);
    broker({"broker_unconfirmed_total", "counter", "PUBLISHes unacknowledged when their connection broke"},
           &BrokerStats::unconfirmed);
    broker({"broker_malformed_total", "counter", "room channel messages that were not ringcast envelopes"},
           &BrokerStats::malformed);
    broker({"broker_errors_total", "counter", "error replies from the broker"}, &BrokerStats::errors);
    broker({"broker_reconnects_total", "counter", "broker connections re-established"}, &BrokerStats::reconnects);
    broker({"broker_channels", "gauge", "room channels subscribed"}, &BrokerStats::channels);
    broker({"broker_connections", "gauge", "broker connections up"}, &BrokerStats::connected);
  }
  return out;
}

}  // namespace ringcast
