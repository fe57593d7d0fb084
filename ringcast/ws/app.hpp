#pragma once
// App: a WebSocket and HTTP server on every core — the public face of ringcast.
//
//   ringcast::App app({.port = 8080});
//   app.get("/health", [](Request&, Response& res) { res.send("ok"); });
//   app.ws<User>("/chat", {
//       .on_open    = [](WebSocket<User>& ws) { ... },
//       .on_message = [](WebSocket<User>& ws, std::string_view msg, OpCode op) { ws.send(msg, op); },
//       .max_message_size = 64 << 10,
//   });
//   return app.run();   // SIGINT/SIGTERM: every WebSocket gets 1001, connections drain, exit 0
//
// Routes are added before start()/run() and are then shared, read-only, by every shard. Each shard
// accepts its own connections (SO_REUSEPORT) and runs their callbacks on its own thread: callbacks of
// one route run concurrently on every shard, each with its own connections. GET /health answers "ok"
// and GET /metrics serves the counters (Prometheus text) unless the application routes them itself —
// on the main port by default, or on a listener of their own (AppOptions::metrics), and behind a bearer
// token if one is set.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringcast/net/http/http_router.hpp>
#include <ringcast/net/http/http_server.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/ws/rooms/broker_bridge.hpp>
#include <ringcast/ws/rooms/rooms.hpp>
#include <ringcast/ws/web_socket_route.hpp>

namespace ringcast {

// Where GET /metrics is served. The counters tell how busy the server is and how many clients it has:
// keep them off a public port (a listener of their own on loopback or a private network) or behind a
// token.
struct MetricsOptions {
  // -1: on the main port, beside the application's routes. 0 or more: only on a listener of its own at
  // host:port (port 0: any free port, see App::metrics_port()), which serves GET /metrics and GET /health.
  int port = -1;
  std::string host = "127.0.0.1";
  // Not empty: a request must carry `Authorization: Bearer TOKEN` (else 401).
  std::string token;
};

struct AppOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 9001;                // 0: any free port (see App::port())
  unsigned shards = 0;                 // 0: one per CPU in the affinity mask
  bool pin = true;
  LoopOptions loop;
  HttpServerOptions http;
  // PEM certificate chain and key: serve https:// and wss:// (loop.tls, when set, is used instead).
  std::string tls_cert;
  std::string tls_key;
  std::chrono::milliseconds stop_timeout{5000};  // how long shards drain on shutdown
  std::chrono::microseconds yield_interval = RuntimeOptions{}.yield_interval;
  // Rooms across nodes: `redis://host[:port][/prefix]` (ringcast/ws/rooms/broker_bridge.hpp); empty:
  // this node alone.
  std::string broker;
  // What the WebSockets of one shard may hold, together, in messages that span reads (buffers and
  // inflate streams, see ringcast/ws/detail/partial_message_budget.hpp); a message that needs more
  // fails with 1013 (try again later). Each connection is held to its route's max_message_size too.
  size_t max_partial_message_bytes = 64 << 20;
  MetricsOptions metrics;
};

class App {
 public:
  explicit App(AppOptions options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

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
  // Publishes to every member of `room` on every shard. Any thread: from outside the shards the
  // message is copied to the room's home shard, which publishes it.
  void publish(std::string_view room, std::string_view message, OpCode op = OpCode::text);
  void publish_sequenced(std::string_view room, std::string_view message, OpCode op = OpCode::text);
  // The calling shard's rooms (shard threads only).
  Rooms& rooms();
  // This process's id on the broker (0 without one); set when the app starts.
  uint64_t node_id() const noexcept { return broker_ ? broker_->node_id : 0; }

  // Starts every shard and returns once they listen.
  void start();
  // start(), then serve until SIGINT/SIGTERM; returns 0 after a graceful stop.
  int run();
  void stop() noexcept;
  void join();

  uint16_t port() const noexcept;
  // The port of the metrics listener once started (AppOptions::metrics.port ≥ 0), else 0.
  uint16_t metrics_port() const noexcept { return metrics_port_.load(std::memory_order_acquire); }
  // The counters of every shard in Prometheus text format (also served at GET /metrics).
  std::string metrics() const;
  TcpServer& server() noexcept { return *server_; }

 private:
  struct WsRoute {
    std::function<std::unique_ptr<WebSocketContext>(Loop&)> make;
    std::function<void(WebSocketContext&, Connection&, Request&, Response&)> upgrade;
    std::shared_ptr<void> behavior;                            // WebSocketBehavior<U>, type-erased
    DeflateOptions compression;
    std::vector<std::unique_ptr<WebSocketContext>> per_shard;  // written once by each shard at start
  };
  App& route(HttpMethod method, std::string_view pattern, HttpRoute route);
  void serve_metrics(Request& req, Response& res);
  void listen_metrics(Loop& loop);
  void add_ws_route(std::string_view pattern, std::unique_ptr<WsRoute> route);
  void create_server();

  AppOptions options_;
  HttpRouter<HttpRoute> router_;
  bool has_health_ = false;
  bool has_metrics_ = false;
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
  std::unique_ptr<TcpServer> server_;  // last: shards end before the routes and contexts they use
};

template <typename UserData>
App& App::ws(std::string_view pattern, WebSocketBehavior<UserData> behavior) {
  auto route = std::make_unique<WsRoute>();
  auto shared = std::make_shared<WebSocketBehavior<UserData>>(std::move(behavior));
  const WebSocketBehavior<UserData>* b = shared.get();
  route->behavior = shared;
  route->compression = shared->options().compression;
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
