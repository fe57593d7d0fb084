#include <ringcast/ws/app.hpp>

#include <fmt/format.h>

#include <future>
#include <random>
#include <stdexcept>
#include <system_error>

#include <ringcast/core/log.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include <ringcast/ws/detail/metrics.hpp>
#include <ringcast/ws/detail/shard_drain.hpp>
#include <ringcast/ws/rooms/detail/redis_rooms.hpp>

namespace ringcast {

App::App(AppOptions options) : options_(std::move(options)) {}

App::~App() {
  // Shards end (closing what is open) while routes and contexts still exist, and before the server
  // goes: their callbacks may still reach it (App::rooms) until they have.
  if (server_) {
    server_->stop();
    server_->join();
  }
  started_.store(nullptr, std::memory_order_release);
  server_.reset();
}

App& App::route(HttpMethod method, std::string_view pattern, HttpRoute route) {
  if (server_) throw std::logic_error("routes are added before the app starts");
  if (!router_.add(method, pattern, std::move(route))) {
    throw std::invalid_argument(fmt::format("bad or duplicate route pattern '{}'", pattern));
  }
  if (method == HttpMethod::get || method == HttpMethod::any) {
    has_health_ = has_health_ || pattern == "/health";
    has_metrics_ = has_metrics_ || pattern == "/metrics";
    has_ready_ = has_ready_ || pattern == "/ready";
  }
  return *this;
}

App& App::get(std::string_view pattern, HttpHandler handler, uint64_t max_body) {
  return route(HttpMethod::get, pattern, HttpRoute{.handler = std::move(handler), .max_body = max_body});
}

App& App::post(std::string_view pattern, HttpHandler handler, uint64_t max_body) {
  return route(HttpMethod::post, pattern, HttpRoute{.handler = std::move(handler), .max_body = max_body});
}

App& App::any(std::string_view pattern, HttpHandler handler, uint64_t max_body) {
  return route(HttpMethod::any, pattern, HttpRoute{.handler = std::move(handler), .max_body = max_body});
}

void App::add_ws_route(std::string_view pattern, std::unique_ptr<WsRoute> ws) {
  WsRoute* r = ws.get();
  ws_routes_.push_back(std::move(ws));
  HttpRoute http;
  http.upgrade = [this, r](Connection& c, Request& req, Response& res) {
    const unsigned shard = Shard::current()->id();
    if (drains_[shard]->active()) {
      // RFC 9110 §15.6.4: this node is going; another one will take the client.
      res.status(503).header("Retry-After", "1").send("draining\n");
      return;
    }
    r->upgrade(*r->per_shard[shard], c, req, res);
  };
  route(HttpMethod::get, pattern, std::move(http));
}

App& App::room_options(std::string name, RoomOptions options) {
  room_options_.emplace_back(std::move(name), std::move(options));
  return *this;
}

App& App::default_room_options(RoomOptions options) {
  default_room_options_ = std::move(options);
  return *this;
}

Rooms* App::own_rooms() const noexcept {
  Shard* here = Shard::current();
  TcpServer* server = started_.load(std::memory_order_acquire);
  if (!here || !server || &here->runtime() != &server->runtime()) return nullptr;
  return rooms_[here->id()].get();
}

RedisCluster* App::redis() const noexcept {
  Rooms* rooms = own_rooms();
  return rooms && rooms->broker() ? &rooms->broker()->redis() : nullptr;
}

Rooms& App::rooms() {
  Rooms* rooms = own_rooms();
  if (!rooms) throw std::logic_error("App::rooms() is called from one of the app's shards only");
  return *rooms;
}

bool App::publish(std::string_view room, std::string_view message, OpCode op, PublishDone on_done) {
  return publish(room, message, op, false, std::move(on_done));
}

bool App::publish_sequenced(std::string_view room, std::string_view message, OpCode op, PublishDone on_done) {
  return publish(room, message, op, true, std::move(on_done));
}

bool App::publish(std::string_view room, std::string_view message, OpCode op, bool sequenced, PublishDone on_done) {
  if (Rooms* here = own_rooms()) {
    return sequenced ? here->publish_sequenced(room, message, op, std::move(on_done))
                     : here->publish(room, message, op, nullptr, std::move(on_done));
  }
  TcpServer* server = started_.load(std::memory_order_acquire);
  // Refused here what the home shard would refuse: the caller hears it now.
  if (!server || !Rooms::valid_room_name(room) || message.size() > Rooms::kMaxMessage) return false;
  // A task posted before the home shard runs waits for it (it runs after on_shard_start).
  Shard& home = server->runtime().shard(room_network_->home_of(room));
  if (home.exited()) return false;
  home.post([this, r = std::string(room), m = std::string(message), op, sequenced,
             done = std::move(on_done)](Shard& s) mutable {
    Rooms& rooms = *rooms_[s.id()];
    sequenced ? rooms.publish_sequenced(r, m, op, std::move(done)) : rooms.publish(r, m, op, nullptr, std::move(done));
  });
  return true;
}

RoomReport App::room_report(std::string_view room) const {
  if (own_rooms()) throw std::logic_error("App::room_report waits for every shard: on a shard, use rooms().report");
  TcpServer* server = started_.load(std::memory_order_acquire);
  if (!server) return {};
  Runtime& runtime = server->runtime();
  auto exited = [&runtime] {
    for (unsigned i = 0; i < runtime.shard_count(); ++i) {
      if (runtime.shard(i).exited()) return true;
    }
    return false;
  };
  if (exited()) return {};
  auto answer = std::make_shared<std::promise<RoomReport>>();
  std::future<RoomReport> report = answer->get_future();
  runtime.shard(room_network_->home_of(room)).post([this, r = std::string(room), answer](Shard& s) {
    rooms_[s.id()]->report(r, [answer](const RoomReport& sum) { answer->set_value(sum); });
  });
  // A shard that stops before it answers never will: the app is stopping, and nobody is in any room.
  while (report.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    if (exited()) return {};
  }
  return report.get();
}

App& App::on_shard_start(std::function<void(Shard&)> fn) {
  shard_hooks_.push_back(std::move(fn));
  return *this;
}

void App::serve_metrics(Request& req, Response& res) {
  const std::string& token = options_.metrics.token;
  if (!token.empty()) {
    // Compared in constant time: how long a refusal takes says nothing of how much of a guess was right.
    const std::string_view given = req.header("Authorization");
    const std::string expected = "Bearer " + token;
    unsigned diff = given.size() != expected.size();
    for (size_t i = 0; i < expected.size(); ++i) diff |= static_cast<unsigned>(expected[i] ^ (i < given.size() ? given[i] : 0));
    if (diff != 0) {
      // RFC 6750 §3: the challenge names the scheme.
      res.status(401).header("WWW-Authenticate", R"(Bearer realm="metrics")").send("a bearer token is needed\n");
      return;
    }
  }
  res.send(metrics(), "text/plain; version=0.0.4; charset=utf-8");
}

void App::serve_ready(Request&, Response& res) {
  std::string why;
  if (ready(why)) {
    res.send("ready\n");
  } else {
    res.status(503).send(why + "\n");
  }
}

bool App::ready(std::string& why) const {
  TcpServer* server = started_.load(std::memory_order_acquire);
  if (!server) {
    why = "not started";
    return false;
  }
  if (draining()) {
    why = "draining";
    return false;
  }
  if (!broker_) return true;
  const auto now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
  for (size_t i = 0; i < rooms_.size(); ++i) {
    const Rooms* rooms = rooms_[i].get();
    if (!rooms || !rooms->broker()) {
      why = fmt::format("shard {} is starting", i);
      return false;
    }
    uint64_t late_ms = 0;
    if (!RedisCluster::proven(rooms->broker()->redis_stats(), now, late_ms)) {
      if (rooms->broker()->redis_stats().proven_until_ms.get() == 0) {
        why = fmt::format("shard {}: Redis delivery unproven: no probe back yet", i);
        return false;
      }
      why = fmt::format("shard {}: Redis delivery unproven: no probe back for {} ms", i,
                        late_ms + static_cast<uint64_t>(broker_->probe_timeout.count()));
      return false;
    }
  }
  return true;
}

void App::listen_metrics(Loop& loop) {
  const MetricsOptions& m = options_.metrics;
  const bool v6 = m.host.find(':') != std::string::npos;
  auto addr = SocketAddress::parse(v6 ? fmt::format("[{}]:{}", m.host, m.port) : fmt::format("{}:{}", m.host, m.port));
  if (!addr) throw std::invalid_argument(fmt::format("metrics host '{}' is not a numeric address", m.host));
  metrics_handler_ = std::make_unique<HttpServerHandler>(loop, metrics_router_, options_.http);
  const int id = loop.listen(*addr, *metrics_handler_);
  if (id < 0) throw std::system_error(-id, std::generic_category(), "listen on " + addr->to_string() + " (metrics)");
  const SocketAddress bound = loop.listener_address(id);
  metrics_port_.store(bound.port(), std::memory_order_release);
  log::info("metrics on http://{}/metrics", bound.to_string());
}

std::string App::metrics() const {
  std::vector<ShardView> views(rooms_.size());
  for (size_t i = 0; i < views.size(); ++i) {
    views[i].shard = &server_->runtime().shard(static_cast<unsigned>(i));
    views[i].net = &server_->net_stats(static_cast<unsigned>(i));
    views[i].rooms = rooms_[i].get();
    views[i].budget = budgets_[i].get();
    views[i].broker = rooms_[i] && rooms_[i]->broker() ? &rooms_[i]->broker()->stats() : nullptr;
    views[i].redis = rooms_[i] && rooms_[i]->broker() ? &rooms_[i]->broker()->redis_stats() : nullptr;
    for (const auto& r : ws_routes_) views[i].routes.push_back(r->per_shard[i].get());
    views[i].drain = drain_stats_ ? &drain_stats_[i] : nullptr;
  }
  std::string why;
  return format_metrics(views, NodeView{.ready = ready(why), .draining = draining()});
}

void App::create_server() {
  if (server_) return;
  if (!has_health_) get("/health", [](Request&, Response& res) { res.send("ok"); });
  if (!has_ready_) get("/ready", [this](Request& req, Response& res) { serve_ready(req, res); });
  if (!has_metrics_ && options_.metrics.port < 0) {
    get("/metrics", [this](Request& req, Response& res) { serve_metrics(req, res); });
  } else if (!has_metrics_) {
    if (options_.metrics.port > 65535) throw std::invalid_argument(fmt::format("metrics port {} is not a port", options_.metrics.port));
    metrics_router_.add(HttpMethod::get, "/metrics", HttpRoute{[this](Request& req, Response& res) { serve_metrics(req, res); }});
    metrics_router_.add(HttpMethod::get, "/health", HttpRoute{[](Request&, Response& res) { res.send("ok"); }});
    metrics_router_.add(HttpMethod::get, "/ready", HttpRoute{[this](Request& req, Response& res) { serve_ready(req, res); }});
    metrics_listener_ = true;
  }
  if (!options_.broker.empty()) {
    std::string error;
    auto redis = RedisEndpoint::parse(options_.broker, error);
    if (!redis) throw std::invalid_argument(error);
    broker_ = BrokerOptions{.redis = *redis, .prefix = redis->prefix, .probe_interval = options_.broker_probe_interval,
                            .probe_timeout = options_.broker_probe_timeout};
    std::random_device rd;
    while (broker_->node_id == 0) broker_->node_id = (uint64_t{rd()} << 32) | rd();
    log::info("broker {} at {} (prefix '{}'), node id {:016x}", redis->to_string(), redis->address.to_string(),
              broker_->prefix, broker_->node_id);
  }
  const auto address = SocketAddress::of(options_.host, options_.port);
  if (!address) throw std::invalid_argument(fmt::format("'{}' is not a numeric address", options_.host));
  TcpServerOptions o{.address = *address, .shards = options_.shards, .loop = options_.loop};
  if (!o.loop.tls && !options_.tls_cert.empty()) {
    std::string error;
    auto tls = TlsServerOptions::from_lists(options_.tls_cert, options_.tls_key, error);
    if (tls) o.loop.tls = TlsContext::server(*tls, error);
    if (!o.loop.tls) throw std::invalid_argument(error);
  }
  o.tls_scheme = "https";
  o.on_terminate = [this] { drain(); };
  o.on_shard_start = [this](Shard& shard) {
    Loop& loop = Loop::current();
    rooms_[shard.id()] = std::make_unique<Rooms>(*room_network_, shard, loop);
    if (broker_) {
      Rooms& rooms = *rooms_[shard.id()];
      rooms.attach_broker(std::make_unique<RedisRooms>(*broker_, rooms, rooms.durable(), loop, room_network_->partitions),
                          broker_->node_id);
      rooms_[shard.id()]->broker()->start();
    }
    for (auto& r : ws_routes_) {
      r->per_shard[shard.id()] = r->make(loop);
      r->per_shard[shard.id()]->set_rooms(rooms_[shard.id()].get());
      r->per_shard[shard.id()]->set_budget(budgets_[shard.id()].get());
    }
    drains_[shard.id()] = std::make_unique<ShardDrain>(loop, drain_stats_[shard.id()]);
    shard.on_stop([d = drains_[shard.id()].get()] { d->cancel(); });
    if (shard.id() == 0 && metrics_listener_) listen_metrics(loop);
    for (auto& hook : shard_hooks_) hook(shard);
  };
  server_ = std::make_unique<TcpServer>(o, [this](Loop& loop) {
    auto handler = std::make_unique<HttpServerHandler>(loop, router_, options_.http);
    http_handlers_[loop.shard().id()] = handler.get();
    return handler;
  });
  const unsigned shards = server_->runtime().shard_count();
  http_handlers_.resize(shards);
  drains_.resize(shards);
  drain_stats_ = std::make_unique<DrainStats[]>(shards);
  for (auto& r : ws_routes_) r->per_shard.resize(shards);
  room_network_ = std::make_unique<RoomNetwork>(shards);
  room_network_->defaults = default_room_options_;
  // Publications are compressed like the first route that negotiates permessage-deflate compresses.
  for (auto& r : ws_routes_) {
    if (r->compression.enabled) {
      room_network_->compression = r->compression;
      break;
    }
  }
  for (auto& [name, opts] : room_options_) room_network_->set_options(name, opts);
  rooms_.resize(shards);
  started_.store(server_.get(), std::memory_order_release);
  for (unsigned i = 0; i < shards; ++i) budgets_.push_back(std::make_unique<PartialMessageBudget>(options_.max_partial_message_bytes));
}

void App::start() {
  create_server();
  server_->start();
}

int App::run() {
  create_server();
  return server_->run();
}

bool App::drain() { return drain(options_.drain); }

bool App::drain(DrainOptions options) {
  TcpServer* server = started_.load(std::memory_order_acquire);
  if (!server || draining_.exchange(true, std::memory_order_acq_rel)) return false;
  log::info("draining: WebSockets close with {} over {} ms, then up to {} ms more", options.close_code,
            options.window.count(), options.grace.count());
  Runtime& runtime = server->runtime();
  Shard* here = Shard::current();
  for (unsigned i = 0; i < runtime.shard_count(); ++i) {
    auto task = [this, options](Shard& s) { start_drain(s, options); };
    if (here && &here->runtime() == &runtime) {
      here->send_to(i, task);
    } else {
      runtime.shard(i).post(task);
    }
  }
  return true;
}

void App::start_drain(Shard& shard, const DrainOptions& options) {
  std::vector<WebSocketContext*> contexts;
  for (auto& r : ws_routes_) contexts.push_back(r->per_shard[shard.id()].get());
  drains_[shard.id()]->start(options, *server_, *http_handlers_[shard.id()], std::move(contexts), [this, &shard] {
    if (shard.id() == 0) {
      shard_drained();
    } else {
      shard.send_to(0, [this](Shard&) { shard_drained(); });
    }
  });
}

void App::shard_drained() {
  Runtime& runtime = server_->runtime();
  if (++shards_drained_ < runtime.shard_count()) return;
  uint64_t closed = 0, cut = 0;
  for (unsigned i = 0; i < runtime.shard_count(); ++i) {
    closed += drain_stats_[i].closed.get();
    cut += drain_stats_[i].cut.get();
  }
  log::info("drained: {} WebSockets closed, {} connections cut", closed, cut);
  server_->stop();
  // What was cut is gone already; nothing is left worth the stop's own wait.
  if (cut > 0) {
    for (unsigned i = 0; i < runtime.shard_count(); ++i) runtime.shard(i).force_stop();
  }
}

void App::stop() noexcept {
  if (server_) server_->stop();
}

void App::join() {
  if (server_) server_->join();
}

uint16_t App::port() const noexcept { return server_ ? server_->port() : 0; }

bool App::reload_tls(std::string& error) {
  create_server();
  return server_->reload_tls(error);
}

}  // namespace ringcast
