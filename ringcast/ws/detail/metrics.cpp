#include <ringcast/ws/detail/metrics.hpp>

#include <fmt/format.h>

#include <ringcast/core/shard.hpp>
#include <ringcast/net/backend/net_stats.hpp>
#include <ringcast/ws/detail/shard_drain.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>
#include <ringcast/ws/rooms/detail/durable_rooms.hpp>
#include <ringcast/ws/rooms/detail/redis_rooms.hpp>
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

std::string format_metrics(const std::vector<ShardView>& shards, const NodeView& node) {
  std::string out;
  fmt::format_to(std::back_inserter(out),
                 "# HELP ringcast_ready 1 while GET /ready answers 200: the node can deliver and is not draining\n"
                 "# TYPE ringcast_ready gauge\nringcast_ready {}\n"
                 "# HELP ringcast_draining 1 from the start of a drain (SIGTERM or App::drain) to the end of the process\n"
                 "# TYPE ringcast_draining gauge\nringcast_draining {}\n",
                 node.ready ? 1 : 0, node.draining ? 1 : 0);
  family(out, {"drain_closed_total", "counter", "WebSockets sent a Close frame by the drain"}, shards,
         [](const ShardView& v) { return v.drain ? v.drain->closed.get() : 0; });
  family(out, {"drain_cut_total", "counter", "connections the drain aborted: still open at its window plus grace"},
         shards, [](const ShardView& v) { return v.drain ? v.drain->cut.get() : 0; });
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
  net({"connections_opened_total", "counter", "TCP connections accepted or opened"}, &NetStats::connections_total);
  net({"accept_errors_total", "counter", "failed accepts (EMFILE, ENFILE, ...)"}, &NetStats::accept_errors);
  net({"accepts_refused_total", "counter", "connections reset at once: their address over its accept rate"},
      &NetStats::accepts_refused);
  net({"accept_pauses_total", "counter", "times a listener stopped accepting: the server over its accept rate"},
      &NetStats::accept_pauses);
  net({"tls_errors_total", "counter", "TLS connections ended by a failed handshake or a bad record"}, &NetStats::tls_errors);
  net({"received_bytes_total", "counter", "bytes received from peers (TLS: the encrypted records)"}, &NetStats::bytes_in);
  net({"sent_bytes_total", "counter", "bytes sent to peers (TLS: the encrypted records)"}, &NetStats::bytes_out);
  net({"sends_total", "counter", "send operations"}, &NetStats::sends);
  net({"submits_total", "counter", "io_uring_enter or epoll_wait calls"}, &NetStats::submits);
  net({"read_pauses_total", "counter", "times reading stopped for pending output"}, &NetStats::read_pauses);
  net({"mesh_pauses_total", "counter", "times reading stopped for a backlog to another shard"}, &NetStats::mesh_pauses);
  net({"closing_resets_total", "counter", "closing connections closed at once: their peer sent on after the close"},
      &NetStats::closing_resets);
  net({"output_queued_bytes", "gauge", "bytes waiting in output queues"}, &NetStats::output_bytes_queued);
  ws({"websockets", "gauge", "open WebSockets"}, &WebSocketStats::open);
  ws({"websocket_messages_in_total", "counter", "messages received"}, &WebSocketStats::messages_in);
  ws({"websocket_messages_out_total", "counter", "messages sent (not counting room deliveries)"}, &WebSocketStats::messages_out);
  ws({"websocket_protocol_errors_total", "counter", "connections failed with 1002/1007/1009"}, &WebSocketStats::protocol_errors);
  ws({"websocket_dropped_total", "counter", "sends dropped over max_backpressure"}, &WebSocketStats::dropped);
  ws({"websocket_closed_too_big_total", "counter", "connections closed with 1009: a message over max_message_size (or max_message_size_before_auth)"},
     &WebSocketStats::too_big);
  ws({"websocket_closed_shard_budget_total", "counter",
      "connections closed with 1013: the shard's budget for messages in progress was spent"},
     &WebSocketStats::shard_budget);
  ws({"websocket_closed_inflate_budget_total", "counter", "connections closed with 1008: inflating faster than allowed"},
     &WebSocketStats::inflate_budget);
  ws({"websocket_closed_auth_timeout_total", "counter", "connections closed with 1008: not authenticated within auth_timeout"},
     &WebSocketStats::auth_timeouts);
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
  rooms({"room_replayed_total", "counter", "durable-room messages sent to joining members before their live stream"},
        &RoomStats::replayed);
  rooms({"room_recovered_total", "counter", "joins from a position that got everything they missed"}, &RoomStats::recovered);
  rooms({"room_not_recovered_total", "counter", "joins from a position the history no longer held"},
        &RoomStats::not_recovered);
  auto durable = [&](const Family& f, Counter DurableStats::*c) {
    family(out, f, shards, [c](const ShardView& v) { return v.rooms ? (v.rooms->durable_stats().*c).get() : 0; });
  };
  durable({"durable_appended_total", "counter", "durable-room messages appended to their log"}, &DurableStats::appended);
  durable({"durable_append_failed_total", "counter", "durable-room messages the log did not take (lost, counted)"},
          &DurableStats::append_failed);
  durable({"durable_gaps_filled_total", "counter", "messages read from the log to fill a gap in a channel's stream"},
          &DurableStats::gaps_filled);
  durable({"durable_breaks_total", "counter", "durable-room streams broken beyond repair (members told)"},
          &DurableStats::breaks);
  durable({"durable_read_failed_total", "counter", "reads of a durable room's log that failed (retried)"},
          &DurableStats::read_failed);
  durable({"durable_stale_total", "counter", "messages of a replaced Redis primary dropped (an older term than the room's log)"},
          &DurableStats::stale);
  if (!shards.empty() && shards[0].broker) {
    auto broker = [&](const Family& f, Counter RedisRoomsStats::*c) {
      family(out, f, shards, [c](const ShardView& v) { return v.broker ? (v.broker->*c).get() : 0; });
    };
    broker({"broker_out_total", "counter", "live-room messages published to other nodes"}, &RedisRoomsStats::live_published);
    broker({"broker_in_total", "counter", "live-room messages from other nodes delivered here"},
           &RedisRoomsStats::live_received);
    broker({"broker_echoes_total", "counter", "own live-room messages back from the broker (skipped)"},
           &RedisRoomsStats::echoes);
    broker({"broker_dropped_total", "counter", "live-room publishes dropped: broker down or too far behind"},
           &RedisRoomsStats::dropped);
    broker({"broker_unconfirmed_total", "counter", "live-room publishes whose connection went before Redis answered"},
           &RedisRoomsStats::unconfirmed);
    broker({"broker_lost_total", "counter", "live-room messages of other nodes that never arrived (numbering gaps)"},
           &RedisRoomsStats::live_lost);
    broker({"broker_duplicates_total", "counter", "live-room messages that came twice (the second dropped)"},
           &RedisRoomsStats::duplicates);
    broker({"broker_durable_in_total", "counter", "durable-room messages read from channels"},
           &RedisRoomsStats::durable_received);
    broker({"broker_presence_events_total", "counter", "presence changes read from channels"},
           &RedisRoomsStats::presence_events);
    broker({"broker_malformed_total", "counter", "channel messages that were not ringcast envelopes"},
           &RedisRoomsStats::malformed);
    broker({"broker_errors_total", "counter", "error replies from the broker"}, &RedisRoomsStats::errors);
    broker({"broker_partitions", "gauge", "partition channels wanted"}, &RedisRoomsStats::partitions);
    auto redis = [&](const Family& f, Counter RedisClusterStats::*c) {
      family(out, f, shards, [c](const ShardView& v) { return v.redis ? (v.redis->*c).get() : 0; });
    };
    redis({"redis_commands_total", "counter", "commands issued to Redis"}, &RedisClusterStats::commands);
    redis({"redis_moved_total", "counter", "MOVED redirections followed"}, &RedisClusterStats::moved);
    redis({"redis_asked_total", "counter", "ASK redirections followed"}, &RedisClusterStats::asked);
    redis({"redis_not_sent_total", "counter", "commands that never reached Redis"}, &RedisClusterStats::not_sent);
    redis({"redis_unknown_total", "counter", "commands whose connection went before the answer"}, &RedisClusterStats::unknown);
    redis({"redis_timeouts_total", "counter", "connections dropped for a late reply"}, &RedisClusterStats::timeouts);
    redis({"redis_topology_refreshes_total", "counter", "cluster topology answers applied"}, &RedisClusterStats::refreshes);
    redis({"redis_resubscribed_total", "counter", "subscriptions restored after a loss"}, &RedisClusterStats::resubscribed);
    redis({"redis_subscriptions", "gauge", "channels confirmed by their Redis node now"}, &RedisClusterStats::subscriptions);
    redis({"redis_nodes", "gauge", "Redis nodes that serve slots"}, &RedisClusterStats::nodes);
    redis({"redis_connections_lost_total", "counter", "Redis connections that were up and went (each reconnects)"},
          &RedisClusterStats::connections_lost);
    redis({"redis_probes_sent_total", "counter", "liveness probes published to this shard's own probe channels"},
          &RedisClusterStats::probes_sent);
    redis({"redis_probes_received_total", "counter", "liveness probes back through a subscriber connection"},
          &RedisClusterStats::probes_received);
    redis({"redis_probes_lost_total", "counter", "liveness probes that never came back"}, &RedisClusterStats::probes_lost);
    redis({"redis_probe_reconnects_total", "counter", "subscriber connections dropped and made again: no probe back in time"},
          &RedisClusterStats::probe_reconnects);
    fmt::format_to(std::back_inserter(out),
                   "# HELP ringcast_redis_probe_round_trip_seconds the latest liveness probe's round trip through Redis\n"
                   "# TYPE ringcast_redis_probe_round_trip_seconds gauge\n");
    for (size_t i = 0; i < shards.size(); ++i) {
      const double s = shards[i].redis ? static_cast<double>(shards[i].redis->probe_round_trip_us.get()) / 1e6 : 0;
      fmt::format_to(std::back_inserter(out), "ringcast_redis_probe_round_trip_seconds{{shard=\"{}\"}} {:.6f}\n", i, s);
    }
  }
  return out;
}

}  // namespace ringcast
