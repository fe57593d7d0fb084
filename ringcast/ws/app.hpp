#pragma once
// App: a WebSocket and HTTP server on every core — the public face of ringcast.
//
//   ringcast::App app({.port = 8080});
//   app.get("/health", [](Request&, Response& res) { res.send("ok"); });
//   app.ws<User>("/chat", {
//       .on_open    = [](WebSocket<User>& ws) { ... },
//       .on_message = [](WebSocket<User>& ws, std::string_view msg, OpCode op) { ws.send(msg, op); },
//       .limits = {.max_message_size = 64 << 10},
//   });
//   return app.run();   // SIGTERM: drain (DrainOptions), exit 0; SIGINT: every WebSocket gets 1001 at once
//
// Routes are added before start()/run() and are then shared, read-only, by every shard. Each shard
// accepts its own connections (SO_REUSEPORT) and runs their callbacks on its own thread: callbacks of
// one route run concurrently on every shard, each with its own connections. GET /health answers "ok"
// (the process lives), GET /ready answers 200 when the node can deliver (see ready()) and 503 with the
// reason when it cannot, and GET /metrics serves the counters (Prometheus text) — each unless the
// application routes it itself — on the main port by default, or on a listener of their own
// (AppOptions::metrics), and /metrics behind a bearer token if one is set.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop_options.hpp>
#include <ringcast/net/http/http_router.hpp>
#include <ringcast/net/http/http_server.hpp>
#include <ringcast/ws/drain_options.hpp>
#include <ringcast/ws/rooms/broker_options.hpp>
#include <ringcast/ws/rooms/rooms.hpp>
#include <ringcast/ws/web_socket_route.hpp>

namespace ringcast {

class TcpServer;
class RedisCluster;
class ShardDrain;
struct DrainStats;
namespace detail {
struct AppInternals;
}
// Where GET /metrics is served. The counters tell how busy the server is and how many clients it has:
// keep them off a public port (a listener of their own on loopback or a private network) or behind a
// token.
struct MetricsOptions {
  // -1: on the main port, beside the application's routes. 0 or more: only on a listener of its own at
  // host:port (port 0: any free port, see App::metrics_port()), which serves GET /metrics, GET /health
  // and GET /ready.
  int port = -1;
  std::string host = "127.0.0.1";
  // Not empty: a request must carry `Authorization: Bearer TOKEN` (else 401).
  std::string token;
};

struct AppOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 9001;                // 0: any free port (see App::port())
  ShardOptions shards;                 // .count = 0: one per CPU; pinning, drain time (core/runtime.hpp)
  LoopOptions loop;
  HttpServerOptions http;
  // PEM certificate chain and key: serve https:// and wss:// (loop.tls, when set, is used instead).
  // Several pairs (SNI), comma-separated: TlsServerOptions::from_lists.
  std::string tls_cert;
  std::string tls_key;
  // Rooms across nodes: `redis[s]://[user[:password]@]host[:port][/prefix]` (RedisEndpoint,
  // ringcast/ws/rooms/detail/redis_rooms.hpp, docs/redis.md); empty: this node alone.
  std::string broker;
  // With a broker: how often each shard probes each Redis connection it subscribes on (a message to
  // itself), and how long without one back before that connection is dropped and GET /ready is 503
  // (BrokerOptions; probe interval 0: no probes).
  std::chrono::milliseconds broker_probe_interval{1000};
  std::chrono::milliseconds broker_probe_timeout{3000};
  // What the WebSockets of one shard may hold, together, in messages that span reads (buffers and
  // inflate streams, see ringcast/ws/detail/partial_message_budget.hpp); a message that needs more
  // fails with 1013 (try again later). Each connection is held to its route's max_message_size too.
  size_t max_partial_message_bytes = 64 << 20;
  MetricsOptions metrics;
  // What drain() and the first SIGTERM of run() do (ringcast/ws/drain_options.hpp).
  DrainOptions drain;
};

class App {
 public:
  explicit App(AppOptions options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // HTTP routes; `max_body`: the route's body limit in bytes (0: AppOptions::http.max_body).
  App& get(std::string_view pattern, HttpHandler handler, uint64_t max_body = 0);
  App& post(std::string_view pattern, HttpHandler handler, uint64_t max_body = 0);
  App& any(std::string_view pattern, HttpHandler handler, uint64_t max_body = 0);

  // A WebSocket route (GET with an upgrade). The behavior is copied and shared by every shard.
  template <typename UserData>
  App& ws(std::string_view pattern, WebSocketBehavior<UserData> behavior);

  // Runs on each shard's thread once it is up, before it serves (per-shard application state).
  App& on_shard_start(std::function<void(Shard&)> fn);

  // Rooms (ringcast/ws/rooms/rooms.hpp). Options for one room, or for every room without its own
  // (before start).
  App& room_options(std::string name, RoomOptions options);
  App& default_room_options(RoomOptions options);
  // Publishes to every member of `room` on every shard; publish_sequenced numbers it first
  // (Rooms::publish_sequenced). Any thread. On one of this app's shards the message goes out at once;
  // from any other thread it is copied to the room's home shard (RoomNetwork::home_of), which
  // publishes it, so messages one thread publishes to one room arrive in the order it published them.
  // True: the message is on its way. False: nothing was sent, nothing numbered or counted — before
  // start() and once the shards have stopped (there is no member to reach), or for a room name or a
  // message Rooms::publish refuses. `on_done`, when given (and the call returned true), runs once with
  // what became of the message (ringcast/ws/rooms/publish_outcome.hpp, which also says what ringcast
  // guarantees a publisher): on the calling shard, or, called from another thread, on the room's home
  // shard; not at all if the app stops first.
  bool publish(std::string_view room, std::string_view message, OpCode op = OpCode::text, PublishDone on_done = {});
  bool publish_sequenced(std::string_view room, std::string_view message, OpCode op = OpCode::text,
                         PublishDone on_done = {});
  // What became of `room`'s messages on this node, summed over the shards (RoomReport): zeros before
  // start(), after the shards stop, and for a room nobody here is in. Threads outside this app's shards:
  // it waits for every shard's answer (a shard waiting for itself would never get it: on the app's
  // shards it throws std::logic_error — use rooms().report(room, done) there).
  RoomReport room_report(std::string_view room) const;
  // The calling shard's rooms: this app's shard threads only (from on_shard_start on); elsewhere
  // throws std::logic_error.
  Rooms& rooms();
  // This process's id on the broker (0 without one); set when the app starts.
  uint64_t node_id() const noexcept { return broker_ ? broker_->node_id : 0; }
  // With a broker, the calling shard's Redis client (ringcast/net/redis/redis_cluster.hpp), for keys
  // of the application's own that every node must see (a login's one-time token, say): routed by
  // key, pipelined on the rooms' connections, answered on this shard. Null without a broker and off
  // the app's shards. The application's keys should start with broker_prefix(), as the rooms' do.
  RedisCluster* redis() const noexcept;
  std::string_view broker_prefix() const noexcept { return broker_ ? std::string_view(broker_->prefix) : std::string_view(); }

  // Starts every shard and returns once they listen (then port() is known).
  void start();
  // start() unless started already, then serve until a stop: SIGTERM drains (drain()) and the app
  // stops once drained; SIGINT stops at once (every WebSocket gets 1001); either signal during a drain
  // stops at once. With TLS, SIGHUP reloads the certificates (reload_tls). Returns 0.
  int run();
  // With TLS: reads the certificate and key files again; a pair that does not load is refused (logged,
  // and said in `error`, with the file and OpenSSL's reason) and the current one stays. Open
  // connections keep the pair they were accepted with; new handshakes use the new one once this
  // returns. Any thread but the app's shards (TcpServer::reload_tls).
  bool reload_tls(std::string& error);
  void stop() noexcept;
  void join();
  // Any thread, once started. Empties the node for a rolling restart (DrainOptions, default
  // AppOptions::drain): ready() turns false at once ("draining"), every shard stops accepting, HTTP
  // keep-alive connections close after their answer, upgrades are refused (503), and the WebSockets
  // get a Close frame spread evenly over the window; once none of the app's connections is left (or at
  // window + grace, cutting the rest) the app stops, as stop() does: run() then returns 0. False when
  // not started or draining already.
  bool drain();
  bool drain(DrainOptions options);
  bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }

  // The port the app listens on (the one picked for port 0), once started; 0 before.
  uint16_t port() const noexcept;
  // The port of the metrics listener once started (AppOptions::metrics.port ≥ 0), else 0.
  uint16_t metrics_port() const noexcept { return metrics_port_.load(std::memory_order_acquire); }
  // The counters of every shard in Prometheus text format (also served at GET /metrics).
  std::string metrics() const;
  // Any thread. True when the node can deliver: without a broker, once started; with one, while every
  // shard has proven delivery through Redis within the probe timeout on every subscriber connection
  // it holds (a shard that subscribes to nothing has nothing to prove); never while draining. `why`
  // says what is not.
  bool ready(std::string& why) const;

 private:
  struct WsRoute {
    std::function<std::unique_ptr<WebSocketContext>(Loop&)> make;
    std::function<void(WebSocketContext&, Connection&, Request&, Response&)> upgrade;
    std::shared_ptr<void> behavior;                            // WebSocketBehavior<U>, type-erased
    DeflateOptions compression;
    std::vector<std::unique_ptr<WebSocketContext>> per_shard;  // written once by each shard at start
  };
  friend struct detail::AppInternals;  // ringcast/ws/detail/app_internals.hpp
  App& route(HttpMethod method, std::string_view pattern, HttpRoute route);
  // The calling thread's Rooms when it is one of this app's shards; null on any other thread.
  Rooms* own_rooms() const noexcept;
  bool publish(std::string_view room, std::string_view message, OpCode op, bool sequenced, PublishDone on_done);
  void serve_metrics(Request& req, Response& res);
  void serve_ready(Request& req, Response& res);
  void listen_metrics(Loop& loop);
  void add_ws_route(std::string_view pattern, std::unique_ptr<WsRoute> route);
  void create_server();
  void start_drain(Shard& shard, const DrainOptions& options);  // on each shard
  void shard_drained();                                        // on shard 0, once per shard

  AppOptions options_;
  HttpRouter<HttpRoute> router_;
  bool has_health_ = false;
  bool has_metrics_ = false;
  bool has_ready_ = false;
  std::vector<std::unique_ptr<PartialMessageBudget>> budgets_;  // per shard; outlive the routes' contexts
  std::vector<std::unique_ptr<WsRoute>> ws_routes_;
  std::vector<std::function<void(Shard&)>> shard_hooks_;
  RoomOptions default_room_options_;
  std::vector<std::pair<std::string, RoomOptions>> room_options_;
  std::unique_ptr<RoomNetwork> room_network_;
  std::vector<std::unique_ptr<Rooms>> rooms_;  // per shard, written once by each shard at start
  std::optional<BrokerOptions> broker_;
  bool metrics_listener_ = false;                            // /metrics on a listener of its own
  HttpRouter<HttpRoute> metrics_router_;                     // ... with these routes
  std::unique_ptr<HttpServerHandler> metrics_handler_;       // on shard 0; outlives its loop
  std::atomic<uint16_t> metrics_port_{0};
  std::vector<HttpServerHandler*> http_handlers_;   // per shard: the main port's, owned by server_
  std::unique_ptr<DrainStats[]> drain_stats_;       // per shard; read by /metrics
  std::vector<std::unique_ptr<ShardDrain>> drains_;  // per shard, written once by each shard at start
  std::atomic<bool> draining_{false};
  unsigned shards_drained_ = 0;                     // shard 0's thread only
  std::unique_ptr<TcpServer> server_;  // last: shards end before the routes and contexts they use
  // server_ once it is ready for its shards to start (set by start() or run(), never cleared): what
  // threads other than the controlling one read, with acquire.
  std::atomic<TcpServer*> started_{nullptr};
};

template <typename UserData>
App& App::ws(std::string_view pattern, WebSocketBehavior<UserData> behavior) {
  auto route = std::make_unique<WsRoute>();
  auto shared = std::make_shared<WebSocketBehavior<UserData>>(std::move(behavior));
  const WebSocketBehavior<UserData>* b = shared.get();
  route->behavior = shared;
  route->compression = shared->compression;
  route->make = [b](Loop& loop) -> std::unique_ptr<WebSocketContext> {
    return std::make_unique<WebSocketRoute<UserData>>(loop, *b);
  };
  route->upgrade = [](WebSocketContext& ctx, Connection& c, Request& req, Response& res) {
    static_cast<WebSocketRoute<UserData>&>(ctx).upgrade(c, req, res);
  };
  add_ws_route(pattern, std::move(route));
  return *this;
}

}  // namespace ringcast
