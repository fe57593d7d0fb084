#include "bench/load/scenarios.hpp"

#include "bench/load/chat_scenario.hpp"

#include <fmt/format.h>

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
  resume_.resize(o.threads);
  if (o.one_order) order_ = std::make_unique<RoomOrder>(rooms_);
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
  if (pub.outstanding() == 0) pub.progress_ns = now;
  pub.sent.store(seq, std::memory_order_release);
  pub.settled.store(seq, std::memory_order_release);
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
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) top_up(w, p);
}

void BroadcastScenario::top_up(Worker& w, uint32_t p) {
  if (rate_ > 0 || stopped_[w.id] || !publishers_[p]->started_ns) return;  // paced, stopped, or not begun
  while (publishers_[p]->outstanding() < window_) {
    if (!publish(w, p)) break;
  }
}

void BroadcastScenario::pump(Worker& w) {
  if (stopped_[w.id]) return;
  const int64_t now = driver_->now_ns();
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) {
    Publisher& pub = *publishers_[p];
    const uint64_t due = due_by(now, pub.started_ns, rate_);
    while (pub.sent.load(std::memory_order_relaxed) < due &&
           pub.outstanding() < window_ * 4) {
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
  Receiver& r = receivers_[me];
  StreamChecker& checker = r.streams[p / rooms_].second;
  if (checker.resuming()) {  // rare: the first message of p since this receiver came back
    std::lock_guard<std::mutex> hold(publishers_[p]->lock);
    checker.on_message(seq, &publishers_[p]->doubt);
  } else {
    checker.on_message(seq);
  }
  w.received.add();
  w.record_latency(static_cast<uint64_t>(driver_->arrival_ns(w) - sent_ns));
  if (order_) {
    // One order without positions: the message after each message is the same for every member.
    const uint64_t id = uint64_t{p} << 40 | seq;
    if (r.previous) {
      switch (order_->check(RoomOrder::mix(r.previous) ^ room, static_cast<uint32_t>(RoomOrder::mix(id)))) {
        case RoomOrder::Seen::first: driver_->room_advanced(w, order_->advance(room, driver_->now_ns())); break;
        case RoomOrder::Seen::same: ++resume_[w.id].order_checked; break;
        case RoomOrder::Seen::different: ++resume_[w.id].order_violations; break;
        case RoomOrder::Seen::unchecked: break;
      }
    }
    r.previous = id;
  }
  if (p == me) {
    Publisher& pub = *publishers_[p];
    if (seq > pub.floor) {  // one it had given up on counts for nothing: its window was refilled
      ++pub.own_received;
      pub.progress_ns = driver_->now_ns();
      top_up(w, p);
    }
  }
}

void BroadcastScenario::Publisher::give_up(bool in_doubt) {
  const uint64_t last = sent.load(std::memory_order_relaxed), n = outstanding();
  if (n == 0) return;
  if (in_doubt) {
    std::lock_guard<std::mutex> hold(lock);
    doubt.emplace_back(last - n + 1, last);
  }
  floor = last;
  given_up += n;
  settled.store(last - n, std::memory_order_release);
}

void BroadcastScenario::dropped(Worker&, uint32_t i) {
  Receiver& r = receivers_[i];
  r.previous = 0;
  for (auto& [p, checker] : r.streams) checker.resumed();
  if (i < publishers_.size()) publishers_[i]->give_up(true);
}

void BroadcastScenario::tick(Worker& w) {
  const auto timeout = static_cast<int64_t>(driver_->options().confirm_timeout * 1e9);
  const int64_t now = driver_->now_ns();
  for (uint32_t p = w.id; p < publishers_.size(); p += driver_->workers()) {
    Publisher& pub = *publishers_[p];
    if (pub.outstanding() && w.sockets[p] && now - pub.progress_ns > timeout) {
      pub.give_up(false);  // the server dropped them on a live connection: receivers count them lost
      pub.progress_ns = now;
      top_up(w, p);
    }
  }
}

void BroadcastScenario::end(Worker& w) { stopped_[w.id] = 1; }

bool BroadcastScenario::drained(Worker& w) {
  // Every live receiver of this worker has seen each publisher's last message it can vouch for.
  for (uint32_t i : w.mine) {
    if (!w.sockets[i]) continue;
    for (auto& [p, checker] : receivers_[i].streams) {
      if (checker.highest() < publishers_[p]->settled.load(std::memory_order_acquire)) return false;
    }
  }
  return true;
}

void BroadcastScenario::opened(Worker& w, Socket& ws) {
  const uint32_t i = ws.data().index;
  receivers_[i].opened = true;
  if (!driver_->away(i)) return;
  driver_->resumed(w, i);  // back in its room, from now on
  ++resume_[w.id].resumed_not_recovered;  // which cannot give back what it sent meanwhile
  if (i < publishers_.size()) top_up(w, i);
}

void BroadcastScenario::finish(Totals& t) {
  for (auto& r : receivers_) {
    if (!r.opened) continue;
    for (auto& [p, checker] : r.streams) t.streams += checker.finish(publishers_[p]->sent.load(), publishers_[p]->doubt);
  }
  for (auto& pub : publishers_) {
    for (const auto& [lo, hi] : pub->doubt) t.resume.unconfirmed += hi - lo + 1;
  }
  for (const ResumeCounts& c : resume_) t.resume += c;
  pacers_.reset();
}

}  // namespace ringcast::load
