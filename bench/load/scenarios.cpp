#include "bench/load/scenarios.hpp"

#include <fmt/format.h>

#include <simdjson.h>

#include <charconv>
#include <cstring>

namespace ringcast::load {
namespace {

// Payload filler: different for every message, and made and checked a word at a time (a receiver
// checks millions of messages a second; the check must cost far less than receiving them).
constexpr uint64_t filler_word(uint64_t seq, size_t k) noexcept {
  return (seq * 0x9E3779B97F4A7C15ull) ^ (k * 0x100000001B3ull);
}

void write_filler(char* p, size_t n, uint64_t seq) noexcept {
  size_t k = 0;
  for (; (k + 1) * 8 <= n; ++k) {
    const uint64_t w = filler_word(seq, k);
    std::memcpy(p + k * 8, &w, 8);
  }
  const uint64_t w = filler_word(seq, k);
  std::memcpy(p + k * 8, &w, n - k * 8);
}

bool filler_ok(const char* p, size_t n, uint64_t seq) noexcept {
  // Two words at a time in a vector (compilers leave the plain word loop scalar: its k * constant
  // has no 64-bit vector multiply to become on x86), the last under 16 bytes as a zero-padded vector.
  // No early exit: bad bytes are rare.
  using Words = uint64_t __attribute__((vector_size(16)));
  constexpr uint64_t kStep = filler_word(0, 1);
  const uint64_t base = filler_word(seq, 0);
  const Words seq_part{base, base}, step{2 * kStep, 2 * kStep};
  Words k_part{0, kStep}, diff{0, 0};
  size_t at = 0;
  for (; at + sizeof(Words) <= n; at += sizeof(Words)) {
    Words w;
    std::memcpy(&w, p + at, sizeof w);
    diff |= w ^ seq_part ^ k_part;
    k_part += step;
  }
  Words tail{0, 0}, want{0, 0};
  const Words expected = seq_part ^ k_part;
  std::memcpy(&tail, p + at, n - at);
  std::memcpy(&want, &expected, n - at);
  diff |= tail ^ want;
  return (diff[0] | diff[1]) == 0;
}

template <typename T>
T read_at(std::string_view m, size_t offset) noexcept {
  T v;
  std::memcpy(&v, m.data() + offset, sizeof v);
  return v;
}

}  // namespace

struct Pacers::Pacer : Timer {
  Worker* worker;
  std::function<void(Worker&)> pump;
  const std::vector<uint8_t>* stopped;
  Pacer(Worker* w, std::function<void(Worker&)> fn, const std::vector<uint8_t>* s)
      : Timer(&fire), worker(w), pump(std::move(fn)), stopped(s) {}
  static void fire(Timer& t) {
    auto& p = static_cast<Pacer&>(t);
    if ((*p.stopped)[p.worker->id]) return;
    p.pump(*p.worker);
    p.worker->shard->timers().schedule_in(p, 1);
  }
};

Pacers::Pacers() = default;
Pacers::~Pacers() = default;

void Pacers::attach(unsigned workers) { pacers_.resize(workers); }

void Pacers::start(Worker& w, std::function<void(Worker&)> pump, const std::vector<uint8_t>& stopped) {
  pacers_[w.id] = std::make_unique<Pacer>(&w, std::move(pump), &stopped);
  w.shard->timers().schedule_in(*pacers_[w.id], 1);
}

void Pacers::reset() {
  for (auto& p : pacers_) p.reset();
}

std::unique_ptr<Scenario> make_scenario(const std::string& name) {
  if (name == "echo") return std::make_unique<EchoScenario>();
  if (name == "broadcast") return std::make_unique<BroadcastScenario>();
  if (name == "connect") return std::make_unique<ConnectScenario>();
  if (name == "idle") return std::make_unique<IdleScenario>();
  if (name == "chat") return std::make_unique<ChatScenario>();
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// echo: [u64 connection][u64 seq][filler]

void EchoScenario::attach(Driver& d) {
  Scenario::attach(d);
  const LoadOptions& o = d.options();
  size_ = std::max<size_t>(o.size, 16);
  rate_ = o.rate;
  conns_.resize(o.connections);
  for (auto& c : conns_) c.sent_at.assign(std::max(1u, o.inflight), 0);
  stopped_.assign(o.threads, 0);
  pacers_.attach(o.threads);
}

void EchoScenario::send(Worker& w, Socket& ws, Conn& c) {
  if (!driver_->claim_message()) return;
  static thread_local std::string buf;
  buf.resize(size_);
  const uint64_t index = ws.data().index;
  const uint64_t seq = c.next_seq++;
  std::memcpy(buf.data(), &index, 8);
  std::memcpy(buf.data() + 8, &seq, 8);
  write_filler(buf.data() + 16, size_ - 16, seq);
  c.sent_at[seq % c.sent_at.size()] = driver_->now_ns();
  ws.send(buf, op_, driver_->options().deflate);
  w.sent.add();
  w.bytes_out.add(size_);
}

void EchoScenario::begin(Worker& w) {
  if (rate_ > 0) {
    // Spread over one period, so the connections do not all owe a message at the same instant.
    const int64_t now = driver_->now_ns();
    const double period_ns = 1e9 / rate_;
    for (size_t k = 0; k < w.mine.size(); ++k) {
      conns_[w.mine[k]].started_ns = now - static_cast<int64_t>(period_ns * static_cast<double>(k) / static_cast<double>(w.mine.size()));
    }
    pacers_.start(w, [this](Worker& wk) { pump(wk); }, stopped_);
    return;
  }
  for (uint32_t i : w.mine) {
    Socket* ws = w.sockets[i];
    if (!ws) continue;
    for (unsigned k = 0; k < conns_[i].sent_at.size(); ++k) send(w, *ws, conns_[i]);
  }
}

void EchoScenario::pump(Worker& w) {
  const int64_t now = driver_->now_ns();
  for (uint32_t i : w.mine) {
    Socket* ws = w.sockets[i];
    Conn& c = conns_[i];
    if (!ws) continue;
    const uint64_t due = due_by(now, c.started_ns, rate_);
    while (c.next_seq - 1 < due && c.next_seq - c.expected < c.sent_at.size() && !driver_->budget_spent()) send(w, *ws, c);
  }
}

void EchoScenario::message(Worker& w, Socket& ws, std::string_view m, OpCode op) {
  const uint32_t index = ws.data().index;
  Conn& c = conns_[index];
  bool ok = m.size() == size_ && op == op_ && read_at<uint64_t>(m, 0) == index;
  const uint64_t seq = ok ? read_at<uint64_t>(m, 8) : 0;
  ok = ok && seq == c.expected;
  ok = ok && filler_ok(m.data() + 16, size_ - 16, seq);
  if (!ok) {
    w.errors.add();  // a wrong, reordered or corrupted echo
    return;
  }
  w.record_latency(static_cast<uint64_t>(driver_->arrival_ns(w) - c.sent_at[seq % c.sent_at.size()]));
  ++c.expected;
  w.received.add();
  if (rate_ == 0 && !stopped_[w.id]) send(w, ws, c);
}

void EchoScenario::end(Worker& w) { stopped_[w.id] = 1; }

bool EchoScenario::drained(Worker& w) {
  for (uint32_t i : w.mine) {
    if (w.sockets[i] && conns_[i].expected != conns_[i].next_seq) return false;
  }
  return true;
}

void EchoScenario::finish(Totals& t) {
  pacers_.reset();
  for (const Conn& c : conns_) {
    t.streams.received += c.expected - 1;
    t.streams.lost += c.next_seq - c.expected;  // sent and never echoed
  }
}

// ---------------------------------------------------------------------------------------------
// broadcast: [u32 publisher][u32 room][u64 seq][i64 sent ns][filler]

std::string BroadcastScenario::path(const LoadOptions& o, uint32_t i) const {
  return fmt::format("/room/r{}", i % std::max(1u, o.rooms));
}

void BroadcastScenario::attach(Driver& d) {
  Scenario::attach(d);
  const LoadOptions& o = d.options();
  rooms_ = std::max(1u, o.rooms);
  size_ = std::max<size_t>(o.size, 24);
  window_ = std::max(1u, o.window);
  rate_ = o.rate;
  const uint32_t publishers = std::min(o.publishers, o.connections);
  for (uint32_t p = 0; p < publishers; ++p) publishers_.push_back(std::make_unique<Publisher>());
  receivers_.resize(o.connections);
  for (uint32_t i = 0; i < o.connections; ++i) {
    for (uint32_t p = 0; p < publishers; ++p) {
      if (room_of(p) == room_of(i)) receivers_[i].streams.emplace_back(p, StreamChecker{});
    }
  }
  stopped_.assign(o.threads, 0);
  pacers_.attach(o.threads);
}

bool BroadcastScenario::publish(Worker& w, uint32_t p) {
  Socket* ws = w.sockets[p];
  if (!ws || !driver_->claim_message()) return false;
  static thread_local std::string buf;
  buf.resize(size_);
  Publisher& pub = *publishers_[p];
  const uint64_t seq = pub.sent.load(std::memory_order_relaxed) + 1;
  const uint32_t room = room_of(p);
  const int64_t now = driver_->now_ns();
  std::memcpy(buf.data(), &p, 4);
  std::memcpy(buf.data() + 4, &room, 4);
  std::memcpy(buf.data() + 8, &seq, 8);
  std::memcpy(buf.data() + 16, &now, 8);
  write_filler(buf.data() + 24, size_ - 24, seq);
  ws->send(buf, OpCode::binary, driver_->options().deflate);
  pub.sent.store(seq, std::memory_order_release);
  w.sent.add();
  w.bytes_out.add(size_);
  return true;
}

void BroadcastScenario::begin(Worker& w) {
  const int64_t now = driver_->now_ns();
  // Paced publishers are spread evenly over one period: started together, they would all owe their
  // next message at the same instant, and the server would see bursts instead of the rate asked for.
  const double period_ns = rate_ > 0 ? 1e9 / rate_ : 0;
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) {
    publishers_[p]->started_ns = now - static_cast<int64_t>(period_ns * p / static_cast<double>(publishers_.size()));
  }
  if (rate_ > 0) {
    pacers_.start(w, [this](Worker& wk) { pump(wk); }, stopped_);
    return;
  }
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) {
    for (unsigned k = 0; k < window_; ++k) publish(w, p);
  }
}

void BroadcastScenario::pump(Worker& w) {
  if (stopped_[w.id]) return;
  const int64_t now = driver_->now_ns();
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) {
    Publisher& pub = *publishers_[p];
    const uint64_t due = due_by(now, pub.started_ns, rate_);
    while (pub.sent.load(std::memory_order_relaxed) < due &&
           pub.sent.load(std::memory_order_relaxed) - pub.own_received < window_ * 4) {
      if (!publish(w, p)) break;  // its connection is gone, or the message budget is spent
    }
  }
}

void BroadcastScenario::message(Worker& w, Socket& ws, std::string_view m, OpCode) {
  const uint32_t me = ws.data().index;
  if (m.size() != size_) {
    w.errors.add();
    return;
  }
  const auto p = read_at<uint32_t>(m, 0);
  const auto room = read_at<uint32_t>(m, 4);
  const auto seq = read_at<uint64_t>(m, 8);
  const auto sent_ns = read_at<int64_t>(m, 16);
  bool ok = p < publishers_.size() && room == room_of(me) && room_of(p) == room;
  ok = ok && filler_ok(m.data() + 24, size_ - 24, seq);
  if (!ok) {
    w.errors.add();  // not from this room, or corrupted
    return;
  }
  // The room's publishers are p = room, room + rooms_, room + 2 rooms_, …: p's stream is p / rooms_.
  receivers_[me].streams[p / rooms_].second.on_message(seq);
  w.received.add();
  w.record_latency(static_cast<uint64_t>(driver_->arrival_ns(w) - sent_ns));
  if (p == me) {
    Publisher& pub = *publishers_[p];
    ++pub.own_received;
    if (rate_ == 0 && !stopped_[w.id]) publish(w, p);
  }
}

void BroadcastScenario::end(Worker& w) { stopped_[w.id] = 1; }

bool BroadcastScenario::drained(Worker& w) {
  // Every live receiver of this worker has seen each publisher's last message.
  for (uint32_t i : w.mine) {
    if (!w.sockets[i]) continue;
    for (auto& [p, checker] : receivers_[i].streams) {
      if (checker.highest() < publishers_[p]->sent.load(std::memory_order_acquire)) return false;
    }
  }
  return true;
}

void BroadcastScenario::opened(Worker&, Socket& ws) { receivers_[ws.data().index].opened = true; }

void BroadcastScenario::finish(Totals& t) {
  for (auto& r : receivers_) {
    if (!r.opened) continue;
    for (auto& [p, checker] : r.streams) t.streams += checker.finish(publishers_[p]->sent.load());
  }
  pacers_.reset();
}

// ---------------------------------------------------------------------------------------------
// chat: the message text is "p:seq:sent_ns"; events are parsed with simdjson.

void ChatScenario::attach(Driver& d) {
  Scenario::attach(d);
  const LoadOptions& o = d.options();
  rooms_ = std::max(1u, o.rooms);
  publishers_ = std::min(o.publishers, o.connections);
  window_ = std::max(1u, o.window);
  rate_ = o.rate;
  pacers_.attach(o.threads);
  started_ns_.assign(o.threads, 0);
  conns_.resize(o.connections);
  for (uint32_t i = 0; i < o.connections; ++i) {
    for (uint32_t p = 0; p < publishers_; ++p) {
      if (p % rooms_ == i % rooms_) conns_[i].streams.emplace_back(p, StreamChecker{});
    }
  }
  sent_ = std::make_unique<std::atomic<uint64_t>[]>(std::max(1u, publishers_));
  own_received_.assign(publishers_, 0);
  stopped_.assign(o.threads, 0);
  logins_.resize(o.threads);
  retries_.resize(o.threads);
  login_attempts_.assign(o.connections, 0);
  const std::string body = fmt::format(R"({{"username": "{}", "password": "{}"}})", o.chat_user, o.chat_password);
  login_request_ = fmt::format(
      "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      d.base().host_header(), body.size(), body);
}

void ChatScenario::connect(Worker& w, uint32_t i) {
  if (!logins_[w.id]) logins_[w.id] = std::make_unique<HttpExchange>(*w.loop);
  const bool started = logins_[w.id]->start(
      driver_->base().address, login_request_,
      [this, &w, i](int status, std::string_view body) {
        // {"otp": "TOKEN"}
        const size_t at = body.find("\"otp\"");
        const size_t open = at == std::string_view::npos ? at : body.find('"', body.find(':', at) + 1);
        const size_t close = open == std::string_view::npos ? open : body.find('"', open + 1);
        if ((status == 429 || status == 503) && ++login_attempts_[i] < kLoginAttempts) {
          retry_login(w, i);
          return;
        }
        if (status != 200 || close == std::string_view::npos) {
          driver_->failed(w, i, fmt::format("login answered {} {}", status, body.substr(0, 100)));
          return;
        }
        driver_->open(w, i, fmt::format("/ws?otp={}", body.substr(open + 1, close - open - 1)));
      },
      driver_->source_for(i), driver_->tls().get(), driver_->base().host);
  if (!started) driver_->failed(w, i, std::strerror(errno));
}

struct ChatScenario::LoginRetry : Timer {
  ChatScenario* self;
  Worker* worker;
  std::vector<uint32_t> due;  // connections whose login waits
  LoginRetry(ChatScenario* s, Worker* w) : Timer(&fire), self(s), worker(w) {}
  static void fire(Timer& t) {
    auto& r = static_cast<LoginRetry&>(t);
    const std::vector<uint32_t> now = std::move(r.due);
    r.due.clear();
    for (uint32_t i : now) r.self->connect(*r.worker, i);
  }
};

void ChatScenario::retry_login(Worker& w, uint32_t i) {
  auto& r = retries_[w.id];
  if (!r) r = std::make_unique<LoginRetry>(this, &w);
  r->due.push_back(i);
  if (!r->armed()) w.shard->timers().schedule_in(*r, 1000);
}

void ChatScenario::opened(Worker&, Socket& ws) {
  conns_[ws.data().index].opened = true;
  ws.send(fmt::format(R"({{"type": "change_room", "payload": {{"name": "{}"}}}})", room_of(ws.data().index)));
}

bool ChatScenario::ready(Worker& w) {
  for (uint32_t i : w.mine) {
    if (w.sockets[i] && !conns_[i].joined) return false;
  }
  return true;
}

void ChatScenario::publish(Worker& w, uint32_t p) {
  Socket* ws = w.sockets[p];
  if (!ws || !driver_->claim_message()) return;
  const uint64_t seq = sent_[p].load(std::memory_order_relaxed) + 1;
  ws->send(fmt::format(R"({{"type": "send_message", "payload": {{"message": "{}:{}:{}"}}}})", p, seq, driver_->now_ns()));
  sent_[p].store(seq, std::memory_order_release);
  w.sent.add();
}

void ChatScenario::begin(Worker& w) {
  if (rate_ > 0) {
    started_ns_[w.id] = driver_->now_ns();
    pacers_.start(w, [this](Worker& wk) { pump(wk); }, stopped_);
    return;
  }
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) {
    for (unsigned k = 0; k < window_; ++k) publish(w, p);
  }
}

void ChatScenario::pump(Worker& w) {
  const uint64_t due = due_by(driver_->now_ns(), started_ns_[w.id], rate_);
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) {
    while (w.sockets[p] && sent_[p].load(std::memory_order_relaxed) < due &&
           sent_[p].load(std::memory_order_relaxed) - own_received_[p] < window_ && !driver_->budget_spent()) {
      publish(w, p);
    }
  }
}

void ChatScenario::message(Worker& w, Socket& ws, std::string_view m, OpCode) {
  static thread_local simdjson::ondemand::parser parser;
  const uint32_t me = ws.data().index;
  simdjson::padded_string json(m);
  auto doc = parser.iterate(json);
  std::string_view type;
  if (doc["type"].get_string().get(type)) {
    w.errors.add();
    return;
  }
  if (type == "room_changed") {
    conns_[me].joined = true;
    return;
  }
  if (type != "new_message") return;  // presence and the like
  std::string_view text;
  if (doc["payload"]["message"].get_string().get(text)) {
    w.errors.add();
    return;
  }
  // Messages of other runs or people: not ours to check.
  uint32_t p = 0;
  uint64_t seq = 0;
  int64_t sent_ns = 0;
  const size_t a = text.find(':'), b = text.find(':', a + 1);
  if (a == std::string_view::npos || b == std::string_view::npos ||
      std::from_chars(text.data(), text.data() + a, p).ec != std::errc() ||
      std::from_chars(text.data() + a + 1, text.data() + b, seq).ec != std::errc() ||
      std::from_chars(text.data() + b + 1, text.data() + text.size(), sent_ns).ec != std::errc() || p >= publishers_) {
    return;
  }
  for (auto& [publisher, checker] : conns_[me].streams) {
    if (publisher == p) checker.on_message(seq);
  }
  w.received.add();
  w.record_latency(static_cast<uint64_t>(driver_->arrival_ns(w) - sent_ns));
  if (p == me) {
    ++own_received_[p];
    if (rate_ == 0 && !stopped_[w.id]) publish(w, p);
  }
}

void ChatScenario::end(Worker& w) { stopped_[w.id] = 1; }

bool ChatScenario::drained(Worker& w) {
  for (uint32_t i : w.mine) {
    if (!w.sockets[i]) continue;
    for (auto& [p, checker] : conns_[i].streams) {
      if (checker.highest() < sent_[p].load(std::memory_order_acquire)) return false;
    }
  }
  return true;
}

void ChatScenario::finish(Totals& t) {
  for (auto& c : conns_) {
    if (!c.opened) continue;
    for (auto& [p, checker] : c.streams) t.streams += checker.finish(sent_[p].load());
  }
  for (auto& r : retries_) r.reset();
  pacers_.reset();
}

}  // namespace ringcast::load
