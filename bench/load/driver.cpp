#include "bench/load/driver.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <future>
#include <random>
#include <stdexcept>
#include <thread>

#include "bench/load/process_stats.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/detail/socket_ops.hpp>

namespace ringcast::load {
namespace {

using Clock = std::chrono::steady_clock;

// Closes that say the server or the network went, not that it refused this client: worth coming
// back from (RFC 6455 §7.4.1: 1001 going away, 1006 no close frame, 1011 server error; 1012 service
// restart, 1013 try again later, IANA registry).
bool worth_reconnecting(int code) { return code == 1001 || code == 1005 || code == 1006 || code == 1011 || code == 1012 || code == 1013; }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string rate(double per_second) {
  if (per_second >= 1e6) return fmt::format("{:.2f}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

}  // namespace

Driver::Driver(LoadOptions options, Scenario& scenario) : options_(std::move(options)), scenario_(scenario) {
  std::string error;
  // A comma list of servers (nodes sharing rooms through a broker): connection i goes to the i % n-th.
  for (size_t at = 0; at <= options_.url.size();) {
    const size_t comma = std::min(options_.url.find(',', at), options_.url.size());
    auto url = WebSocketUrl::parse(options_.url.substr(at, comma - at), error);
    if (!url) throw std::invalid_argument(fmt::format("--url: {}", error));
    bases_.push_back(*url);
    at = comma + 1;
  }
  base_ = bases_[0];
  node_.resize(options_.connections);
  for (uint32_t i = 0; i < options_.connections; ++i) node_[i] = i % static_cast<uint32_t>(bases_.size());
  dropped_ns_.assign(options_.connections, 0);
  attempts_.assign(options_.connections, 0);
  if (std::any_of(bases_.begin(), bases_.end(), [](const WebSocketUrl& u) { return u.secure; })) {
    tls_ = TlsContext::client({.ca_file = options_.ca_file, .verify_peer = !options_.insecure}, error);
    if (!tls_) throw std::invalid_argument(error);
  }
  for (const WebSocketUrl& u : bases_) {
    if (!u.address.is_loopback() && !options_.allow_remote) {
      throw std::invalid_argument(
          fmt::format("{} is not a loopback address; pass --allow-remote to load a remote server", u.host));
    }
  }
  // The descriptor limit decides how many connections one process holds; say so up front.
  const long limit = raise_fd_limit();
  if (limit > 0 && options_.connections + 64 > static_cast<unsigned long>(limit)) {
    throw std::invalid_argument(fmt::format(
        "{} connections need more descriptors than this process may open (RLIMIT_NOFILE is {}; the hard limit "
        "cannot be raised here): use at most {}, or run several ringcast-load processes",
        options_.connections, limit, limit - 64));
  }
  // Spread over source addresses so the ephemeral port range never runs out (about 28k per pair).
  if (base_.address.is_loopback() && base_.address.family() == AF_INET) {
    unsigned n = options_.sources ? options_.sources : (options_.connections + 19'999) / 20'000;
    n = std::clamp(n, 1u, 250u);
    for (unsigned k = 0; k < n; ++k) sources_.push_back(SocketAddress::ipv4(0x7f000001 + k, 0));
  }
  budget_ = static_cast<int64_t>(options_.messages);
  scenario_.attach(*this);
}

Driver::~Driver() {
  if (runtime_) {
    runtime_->stop();
    runtime_->join();
  }
}

template <typename Fn>
void Driver::on_every_worker(Fn fn) {
  std::vector<std::promise<void>> done(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    runtime_->shard(static_cast<unsigned>(i)).post([&, i](Shard&) {
      fn(*workers_[i]);
      done[i].set_value();
    });
  }
  for (auto& d : done) d.get_future().wait();
}

ClientBehavior<Slot> Driver::behavior(Worker& w) {
  ClientBehavior<Slot> b;
  b.on_open = [this, &w](Socket& ws) {
    if (away(ws.data().index)) {  // back after a drop
      attempts_[ws.data().index] = 0;
      open_.fetch_add(1, std::memory_order_relaxed);
      w.sockets[ws.data().index] = &ws;
      if (closing_.load(std::memory_order_relaxed)) {
        ws.close(1000, "load test done");
        return;
      }
      scenario_.opened(w, ws);
      return;
    }
    --w.connecting;
    w.opened.add();
    open_.fetch_add(1, std::memory_order_relaxed);
    w.sockets[ws.data().index] = &ws;
    scenario_.opened(w, ws);
    connect_more(w);
  };
  b.on_message = [this, &w](Socket& ws, std::string_view m, OpCode op) {
    w.bytes_in.add(m.size());
    scenario_.message(w, ws, m, op);
  };
  b.on_close = [this, &w](Socket& ws, int code, std::string_view) {
    const uint32_t i = ws.data().index;
    w.sockets[i] = nullptr;
    open_.fetch_sub(1, std::memory_order_relaxed);
    if (options_.reconnect && worth_reconnecting(code) && !closing_.load(std::memory_order_relaxed)) {
      dropped(w, i);
    } else if (sending_.load(std::memory_order_relaxed) && !away(i)) {
      w.closed_early.add();
    }
  };
  b.on_error = [this, &w](Socket& ws, std::string_view why) { failed(w, ws.data().index, why); };
  b.limits.max_message_size = 64 << 20;
  b.limits.max_backpressure = 64 << 20;
  b.compression = DeflateOptions{.enabled = options_.deflate};
  b.handshake.tls = tls_;
  return b;
}

void Driver::redial_tick(Timer& t) {
  auto& r = static_cast<Worker::Redial&>(t);
  Driver& d = *r.driver;
  Worker& w = *r.worker;
  const int64_t now = d.now_ns();
  std::vector<uint32_t> now_due;
  std::erase_if(r.due, [&](const std::pair<int64_t, uint32_t>& e) {
    if (e.first > now) return false;
    now_due.push_back(e.second);
    return true;
  });
  for (uint32_t i : now_due) d.scenario_.connect(w, i);
  d.scenario_.tick(w);
  w.shard->timers().schedule_in(t, kTickMs);
}

void Scenario::connect(Worker& w, uint32_t i) { driver_->open(w, i, path(driver_->options(), i)); }

void Driver::open(Worker& w, uint32_t i, const std::string& path) {
  std::string error;
  const WebSocketUrl& base = server_of(i);
  auto url = WebSocketUrl::parse(fmt::format("{}://{}{}", base.secure ? "wss" : "ws", base.host_header(), path), error);
  if (!url) {
    failed(w, i, error);
    return;
  }
  if (!w.client->connect(*url, Slot{i}, source_for(i))) failed(w, i, std::strerror(errno));
}

void Driver::dropped(Worker& w, uint32_t i) {
  if (!away(i)) {  // a drop, not a reconnect that opened and closed again before resuming
    dropped_ns_[i] = std::max<int64_t>(now_ns(), 1);
    ++w.away;
    w.reconnects.add();
    scenario_.dropped(w, i);
  }
  redial_later(w, i);
}

// Backoff: 50 ms, doubling to 1.6 s, plus up to 50 ms spread by connection so that the clients of a
// node that went do not all come back in the same instant. Each attempt goes to the next server.
void Driver::redial_later(Worker& w, uint32_t i) {
  node_[i] = (node_[i] + 1) % static_cast<uint32_t>(bases_.size());
  const unsigned attempt = std::min<unsigned>(attempts_[i]++, 5);
  const int64_t delay_ms = (int64_t{50} << attempt) + (i * 7919) % 50;
  w.redial->due.emplace_back(now_ns() + delay_ms * 1'000'000, i);
}

void Driver::resumed(Worker& w, uint32_t i) {
  if (!away(i)) return;
  w.recovery.record(static_cast<uint64_t>(now_ns() - dropped_ns_[i]));
  dropped_ns_[i] = 0;
  --w.away;
}

void Driver::failed(Worker& w, uint32_t i, std::string_view why) {
  if (away(i)) {  // a reconnect that did not get through: the next server, a little later
    if (!closing_.load(std::memory_order_relaxed)) redial_later(w, i);
    return;
  }
  --w.connecting;
  w.failed.add();
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1) < 3) log::warn("cannot open connection {}: {}", i, why);
  connect_more(w);
}

void Driver::connect_more(Worker& w) {
  if (w.in_connect_more) return;  // a synchronous failure below comes back here: the loop goes on
  w.in_connect_more = true;
  const size_t limit = std::min(w.mine.size(), w.connect_limit);
  while (w.connecting < options_.connect_concurrency && w.next_to_connect < limit) {
    const uint32_t i = w.mine[w.next_to_connect++];
    ++w.connecting;
    scenario_.connect(w, i);
  }
  w.in_connect_more = false;
}

void Driver::print_progress(double elapsed, uint64_t prev_sent, uint64_t prev_received, double dt) {
  uint64_t sent = 0, received = 0, p99 = 0;
  for (auto& w : workers_) {
    sent += w->sent.get();
    received += w->received.get();
    p99 = std::max(p99, w->p99_last_second.load(std::memory_order_relaxed));
  }
  const std::string line =
      fmt::format("[{:5.1f}s] conns {:>6}  out {:>8}/s  in {:>8}/s  p99 {:>8.3f} ms", elapsed, open_.load(),
                  rate(static_cast<double>(sent - prev_sent) / dt), rate(static_cast<double>(received - prev_received) / dt),
                  static_cast<double>(p99) / 1e6);
  if (::isatty(STDOUT_FILENO)) {
    fmt::print("\r{}", line);
  } else {
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

void Driver::connect_up_to(uint64_t total) {
  auto settled = [&] {
    uint64_t done = 0;
    for (auto& w : workers_) done += w->opened.get() + w->failed.get();
    return done;
  };
  const uint64_t from = settled();
  const auto t0 = Clock::now();
  auto last = t0;
  uint64_t allowed = 0;
  while (settled() < total && seconds_since(t0) < 120) {
    // Paced: the connections due by now; else all of them at once.
    const uint64_t due = options_.connect_rate > 0
                             ? std::min<uint64_t>(total, from + 1 + static_cast<uint64_t>(options_.connect_rate * seconds_since(t0)))
                             : total;
    if (due > allowed) {
      allowed = due;
      on_every_worker([this, due](Worker& w) {
        w.connect_limit = share(due, w);
        connect_more(w);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.connect_rate > 0 ? 2 : 20));
    if (options_.progress && seconds_since(last) >= 1.0) {
      last = Clock::now();
      print_progress(seconds_since(t0), 0, 0, 1.0);
    }
  }
}

Totals Driver::run() {
  Totals t;
  // From the fresh server: what the first connections bring in once (code paged in, tables, pools)
  // is part of what they cost.
  if (options_.server_pid) t.server_rss_idle = process_rss_bytes(options_.server_pid);
  workers_.clear();
  for (unsigned i = 0; i < options_.threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i;
    w->sockets.assign(options_.connections, nullptr);
    for (uint32_t c = i; c < options_.connections; c += options_.threads) w->mine.push_back(c);
    // Opened in a shuffled (repeatable) order, so publishers join their rooms at no particular place:
    // a server fans out in join order or in one of its own, and publishers that always joined first
    // would get their own copies first and turn their windows sooner on a server of the first kind.
    std::shuffle(w->mine.begin(), w->mine.end(), std::mt19937(i + 1));
    workers_.push_back(std::move(w));
  }
  LoopOptions loop_options;
  runtime_ = std::make_unique<Runtime>(RuntimeOptions{
      .shards = {.count = options_.threads, .yield_interval = std::chrono::microseconds(options_.yield_us)},
      .make_driver = [&](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, loop_options); },
      .on_start = [this](Shard& s) {
        Worker& w = *workers_[s.id()];
        w.shard = &s;
        w.loop = &Loop::current();
        w.tid = current_tid();
        w.client = std::make_unique<WebSocketClient<Slot>>(*w.loop, behavior(w));
        w.redial = std::make_unique<Worker::Redial>(&redial_tick);
        w.redial->driver = this;
        w.redial->worker = &w;
        s.timers().schedule_in(*w.redial, kTickMs);
      }});
  runtime_->start();
  auto every_second = [&](auto&& keep_going, bool show) {
    auto start = Clock::now();
    uint64_t prev_sent = 0, prev_received = 0;
    for (auto& w : workers_) {
      prev_sent += w->sent.get();
      prev_received += w->received.get();
    }
    auto last = Clock::now();
    while (keep_going()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (seconds_since(last) < 1.0) continue;
      const double dt = seconds_since(last);
      last = Clock::now();
      on_every_worker([](Worker& w) { w.roll(); });
      if (show && options_.progress) print_progress(seconds_since(start), prev_sent, prev_received, dt);
      prev_sent = prev_received = 0;
      for (auto& w : workers_) {
        prev_sent += w->sent.get();
        prev_received += w->received.get();
      }
    }
  };

  // Connect. The idle scenario measures the server's memory twice, with half the connections and
  // with all, each once the server settled (it gives back what a burst left about once a second), so
  // that the cost of one more connection and the fixed cost come apart.
  const bool idle_memory = options_.server_pid && scenario_.name() == "idle";
  auto connections_open = [&] {
    uint64_t n = 0;
    for (auto& w : workers_) n += w->opened.get();
    return n;
  };
  const auto t0 = Clock::now();
  if (idle_memory) {
    connect_up_to(options_.connections / 2);
    const double half_seconds = seconds_since(t0);
    std::this_thread::sleep_for(std::chrono::duration<double>(kSettleSeconds));
    t.server_rss_half = process_rss_bytes(options_.server_pid);
    t.connections_half = connections_open();
    const auto t1 = Clock::now();
    connect_up_to(options_.connections);
    t.connect_seconds = half_seconds + seconds_since(t1);
    t.server_rss_peak = process_rss_bytes(options_.server_pid);
  } else {
    connect_up_to(options_.connections);
    t.connect_seconds = seconds_since(t0);
  }
  for (auto& w : workers_) {
    t.connections += w->opened.get();
    t.failed += w->failed.get();
  }
  if (t.connections < options_.connections) {
    t.warnings.push_back(fmt::format("only {} of {} connections opened", t.connections, options_.connections));
  }

  // Ready (a scenario may still be setting connections up), then load: warm up, then measure.
  const auto r0 = Clock::now();
  while (seconds_since(r0) < 30) {
    std::atomic<bool> all{true};
    on_every_worker([&](Worker& w) {
      if (!scenario_.ready(w)) all = false;
    });
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sending_ = true;
  on_every_worker([this](Worker& w) { scenario_.begin(w); });
  const auto warm = Clock::now();
  every_second([&] { return seconds_since(warm) < options_.warmup; }, true);
  struct Snapshot {
    uint64_t sent = 0, received = 0, bytes_out = 0, bytes_in = 0;
  };
  auto snapshot = [&] {
    Snapshot s;
    for (auto& w : workers_) {
      s.sent += w->sent.get();
      s.received += w->received.get();
      s.bytes_out += w->bytes_out.get();
      s.bytes_in += w->bytes_in.get();
    }
    return s;
  };
  on_every_worker([](Worker& w) {
    w.roll();
    w.measuring = true;
  });
  const Snapshot s0 = snapshot();
  const double cpu0 = process_cpu_seconds();
  const double server0 = options_.server_pid ? process_cpu_seconds(options_.server_pid) : -1;
  std::vector<double> thread0;
  for (auto& w : workers_) thread0.push_back(thread_cpu_seconds(w->tid));
  // The idle figure is read once the server settled after the last connects.
  const double measured = idle_memory ? std::max(options_.duration, kSettleSeconds) : options_.duration;
  const auto m0 = Clock::now();
  every_second(
      [&] { return seconds_since(m0) < measured && !budget_spent(); },
      true);
  on_every_worker([](Worker& w) {
    w.roll();
    w.measuring = false;
  });
  t.measured_seconds = seconds_since(m0);
  const Snapshot s1 = snapshot();
  t.client_cpu = process_cpu_seconds() - cpu0;
  if (options_.server_pid) t.server_cpu = process_cpu_seconds(options_.server_pid) - server0;
  for (size_t i = 0; i < workers_.size(); ++i) {
    t.client_busiest_thread =
        std::max(t.client_busiest_thread, (thread_cpu_seconds(workers_[i]->tid) - thread0[i]) / t.measured_seconds);
  }
  if (options_.server_pid) t.server_rss_loaded = process_rss_bytes(options_.server_pid);
  if (options_.progress && ::isatty(STDOUT_FILENO)) fmt::print("\n");

  // Stop, let what is in flight arrive, close.
  on_every_worker([this](Worker& w) { scenario_.end(w); });
  const auto d0 = Clock::now();
  uint64_t reconnects = 0;
  for (auto& w : workers_) reconnects += w->reconnects.get();
  const double drain_limit = reconnects ? 20 : 5;  // connections coming back log in again and catch up
  while (seconds_since(d0) < drain_limit) {
    std::atomic<bool> all{true};
    on_every_worker([&](Worker& w) {
      if (w.away || !scenario_.drained(w)) all = false;  // a connection coming back has things to catch up on
    });
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sending_ = false;
  closing_ = true;
  on_every_worker([](Worker& w) {
    w.shard->timers().cancel(*w.redial);
    for (Socket* ws : w.sockets) {
      if (ws) ws->close(1000, "load test done");
    }
  });
  const auto c0 = Clock::now();
  while (open_.load() > 0 && seconds_since(c0) < 5) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  runtime_->stop();
  runtime_->join();

  t.sent = s1.sent - s0.sent;
  t.received = s1.received - s0.received;
  t.bytes_out = s1.bytes_out - s0.bytes_out;
  t.bytes_in = s1.bytes_in - s0.bytes_in;
  for (auto& w : workers_) {
    t.sent_total += w->sent.get();
    t.received_total += w->received.get();
    t.latency.merge(w->latency);
    t.errors += w->errors.get();
    t.closed_early += w->closed_early.get() + w->away;  // away at the end: never came back
    t.resume.reconnects += w->reconnects.get();
    t.recovery.merge(w->recovery);
    t.longest_stall_seconds = std::max(t.longest_stall_seconds, static_cast<double>(w->longest_stall_ns) / 1e9);
  }
  if (t.client_busiest_thread > 0.9) {
    t.warnings.push_back(fmt::format(
        "a load-generator thread used {:.0f}% of its core: the figures may show the generator's limit, not the "
        "server's (add --threads, or compare CPU per message)",
        100 * t.client_busiest_thread));
  }
  scenario_.finish(t);
  runtime_.reset();
  workers_.clear();
  return t;
}

}  // namespace ringcast::load
