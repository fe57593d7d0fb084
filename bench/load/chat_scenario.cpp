#include "bench/load/chat_scenario.hpp"

#include <fmt/format.h>

#include <simdjson.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include <ringcast/core/log.hpp>

namespace ringcast::load {

void ChatScenario::attach(Driver& d) {
  Scenario::attach(d);
  const LoadOptions& o = d.options();
  rooms_ = std::max(1u, o.rooms);
  publishers_ = std::min(o.publishers, o.connections);
  window_ = std::max(1u, o.window);
  rate_ = o.rate;
  // Rooms outlive runs (a durable room's log stays in Redis): this run's messages carry its tag.
  run_ = static_cast<uint32_t>(RoomOrder::mix(static_cast<uint64_t>(::getpid()) ^
                                               static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())));
  members_.resize(o.connections);
  for (uint32_t i = 0; i < o.connections; ++i) {
    for (uint32_t p = 0; p < publishers_; ++p) {
      if (p % rooms_ == i % rooms_) members_[i].highest.emplace_back(p, 0);
    }
  }
  pubs_.resize(publishers_);
  sent_ = std::make_unique<std::atomic<uint64_t>[]>(std::max(1u, publishers_));
  rooms_state_ = std::make_unique<Room[]>(rooms_);
  order_ = std::make_unique<RoomOrder>(rooms_);
  resume_.resize(o.threads);
  stopped_.assign(o.threads, 0);
  pacers_.attach(o.threads);
  logins_.resize(o.threads);
  retries_.resize(o.threads);
  login_attempts_.assign(o.connections, 0);
}

// Logs in on the connection's server, then opens its WebSocket there: into its room, and from its
// last position when it has one (a reconnect).
void ChatScenario::connect(Worker& w, uint32_t i) {
  if (!logins_[w.id]) logins_[w.id] = std::make_unique<HttpExchange>(*w.loop);
  const LoadOptions& o = driver_->options();
  const WebSocketUrl& server = driver_->server_of(i);
  const std::string body = fmt::format(R"({{"username": "{}", "password": "{}"}})", o.chat_user, o.chat_password);
  std::string request = fmt::format(
      "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      server.host_header(), body.size(), body);
  const bool started = logins_[w.id]->start(
      server.address, std::move(request),
      [this, &w, i](int status, std::string_view body) {
        // {"otp": "TOKEN"}
        const size_t at = body.find("\"otp\"");
        const size_t open = at == std::string_view::npos ? at : body.find('"', body.find(':', at) + 1);
        const size_t close = open == std::string_view::npos ? open : body.find('"', open + 1);
        if ((status == 429 || status == 503) && ++login_attempts_[i] < kLoginAttempts) {
          retry_login(w, i);
          return;
        }
        login_attempts_[i] = 0;
        if (status != 200 || close == std::string_view::npos) {
          driver_->failed(w, i, fmt::format("login answered {} {}", status, body.substr(0, 100)));
          return;
        }
        const Member& m = members_[i];
        std::string path = fmt::format("/ws?otp={}&room={}", body.substr(open + 1, close - open - 1), room_of(i));
        if (m.epoch) path += fmt::format("&epoch={}&seq={}", m.epoch, m.seq);
        driver_->open(w, i, path);
      },
      driver_->source_for(i), driver_->tls().get(), server.host);
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

ChatScenario::ChatScenario() = default;
ChatScenario::~ChatScenario() = default;

bool ChatScenario::ready(Worker& w) {
  for (uint32_t i : w.mine) {
    if (w.sockets[i] && !members_[i].joined) return false;
  }
  return true;
}

void ChatScenario::publish(Worker& w, uint32_t p) {
  Socket* ws = w.sockets[p];
  if (!ws || driver_->away(p) || !driver_->claim_message()) return;
  const uint64_t seq = sent_[p].load(std::memory_order_relaxed) + 1;
  ws->send(fmt::format(R"({{"type": "send_message", "payload": {{"message": "{:x}:{}:{}:{}"}}}})", run_, p, seq,
                       driver_->now_ns()));
  Publisher& pub = pubs_[p];
  if (pub.outstanding++ == 0) pub.progress_ns = driver_->now_ns();
  sent_[p].store(seq, std::memory_order_release);
  w.sent.add();
}

void ChatScenario::top_up(Worker& w, uint32_t p) {
  Publisher& pub = pubs_[p];
  if (!pub.started_ns) return;  // before begin(): members are still joining
  const uint64_t due = rate_ > 0 ? due_by(driver_->now_ns(), pub.started_ns, rate_) : UINT64_MAX;
  while (!stopped_[w.id] && pub.outstanding < window_ && w.sockets[p] && !driver_->away(p) &&
         sent_[p].load(std::memory_order_relaxed) < due) {
    const uint64_t before = sent_[p].load(std::memory_order_relaxed);
    publish(w, p);
    if (sent_[p].load(std::memory_order_relaxed) == before) return;  // the message budget is spent
  }
}

void ChatScenario::begin(Worker& w) {
  const int64_t now = driver_->now_ns();
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) {
    // Paced publishers spread over one period, so the rooms see the rate, not bursts.
    pubs_[p].started_ns = rate_ > 0 ? now - static_cast<int64_t>(1e9 / rate_ * p / publishers_) : now;
    top_up(w, p);
  }
  if (rate_ > 0) pacers_.start(w, [this](Worker& wk) { pump(wk); }, stopped_);
}

void ChatScenario::pump(Worker& w) {
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) top_up(w, p);
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
  if (type == "new_message") {
    std::string_view from, text;
    uint64_t seq = 0;
    auto payload = doc["payload"];
    if (payload["from"].get_string().get(from) || payload["message"].get_string().get(text) ||
        payload["seq"].get_uint64().get(seq)) {
      w.errors.add();
      return;
    }
    new_message(w, me, seq, from, text);
  } else if (type == "room_changed") {
    std::string_view name;
    RoomChanged r;
    auto payload = doc["payload"];
    if (payload["name"].get_string().get(name) || payload["epoch"].get_uint64().get(r.epoch) ||
        payload["seq"].get_uint64().get(r.seq) || payload["recovered"].get_bool().get(r.recovered) ||
        payload["replayed"].get_uint64().get(r.replayed)) {
      w.errors.add();
      return;
    }
    if (name == room_of(me)) room_changed(w, me, r);
  } else if (type == "not_sent") {
    std::string_view text;
    bool maybe = false;
    auto payload = doc["payload"];
    if (payload["message"].get_string().get(text) || payload["maybe"].get_bool().get(maybe)) {
      w.errors.add();
      return;
    }
    not_sent(w, me, text, maybe);
  }
  // presence and the like: not checked
}

// The member is in its room from position r.seq - r.replayed (the replayed messages come next).
void ChatScenario::room_changed(Worker& w, uint32_t me, const RoomChanged& r) {
  Member& m = members_[me];
  ResumeCounts& counts = resume_[w.id];
  const bool resuming = driver_->away(me);
  const uint64_t start = r.seq >= r.replayed ? r.seq - r.replayed : 0;
  if (m.epoch != 0 && (resuming || !r.recovered || r.epoch != m.epoch || start != m.seq)) {
    log::info("connection {} in {}: room_changed epoch {} seq {} replayed {} recovered {} (it had epoch {} seq {}{})", me,
              room_of(me), r.epoch, r.seq, r.replayed, r.recovered, m.epoch, m.seq, resuming ? ", reconnecting" : "");
  }
  if (m.epoch != 0) {
    if (r.epoch != m.epoch) {
      ++counts.epoch_changes;  // the log started over: what it missed of the old one cannot be counted
    } else if (start > m.seq) {
      // Skipped: told so (not recovered), or a gap the server says it filled (lost).
      (r.recovered ? m.counts.lost : m.counts.not_recovered) += start - m.seq;
    }
    if (resuming && r.recovered && r.epoch == m.epoch) {
      ++counts.resumed_recovered;
      counts.messages_recovered += r.seq > m.seq ? r.seq - m.seq : 0;
    } else if (resuming) {
      ++counts.resumed_not_recovered;
    }
    if (!r.recovered && me < publishers_) pubs_[me].told_gap = true;
  }
  // A replay from before its position (same epoch) repeats what it has: those count as duplicates.
  if (r.epoch != m.epoch || start > m.seq) {
    m.epoch = r.epoch;
    m.seq = start;
  }
  rooms_state_[room_index(me)].changed(r.epoch, r.seq);
  m.replay_left = r.replayed;
  m.joined = true;
  if (resuming) driver_->resumed(w, me);
  if (me < publishers_) top_up(w, me);
}

void ChatScenario::new_message(Worker& w, uint32_t me, uint64_t seq, std::string_view from, std::string_view text) {
  Member& m = members_[me];
  const bool replayed = m.replay_left > 0;
  if (replayed) --m.replay_left;
  if (m.epoch == 0) return;  // before its room_changed: not in its room yet
  if (seq <= m.seq) {
    ++m.counts.duplicates;
    log::info("connection {} in {}: seq {} again, after {} (epoch {})", me, room_of(me), seq, m.seq, m.epoch);
    return;
  }
  if (seq > m.seq + 1) {  // a gap nobody told it of
    m.counts.lost += seq - m.seq - 1;
    log::info("connection {} in {}: seq {} after {} (epoch {}): {} lost", me, room_of(me), seq, m.seq, m.epoch, seq - m.seq - 1);
  }
  m.seq = seq;
  const uint32_t room = room_index(me);
  // One order: the same message at this (room, epoch, seq) for every member.
  const uint32_t hash = RoomOrder::hash(from) * 31 + RoomOrder::hash(text);
  switch (order_->check(RoomOrder::mix(m.epoch ^ uint64_t{room} << 48) + seq, hash)) {
    case RoomOrder::Seen::first: driver_->room_advanced(w, order_->advance(room, driver_->now_ns())); break;
    case RoomOrder::Seen::same: ++resume_[w.id].order_checked; break;
    case RoomOrder::Seen::different: ++resume_[w.id].order_violations; break;
    case RoomOrder::Seen::unchecked: break;
  }
  rooms_state_[room].reached(m.epoch, seq);
  uint32_t p = 0;
  uint64_t n = 0;
  int64_t sent_ns = 0;
  if (!own_message(text, p, n, sent_ns)) return;  // earlier runs', people's: only positions
  for (auto& [publisher, highest] : m.highest) {
    if (publisher != p) continue;
    if (n < highest) ++m.counts.reordered;  // the room put p's messages out of p's order
    highest = std::max(highest, n);
  }
  ++m.counts.received;
  w.received.add();
  if (!replayed) w.record_latency(static_cast<uint64_t>(driver_->arrival_ns(w) - sent_ns));
  if (p == me) {
    Publisher& pub = pubs_[p];
    if (is_excused(pub.unsure, n)) {
      ++pub.unsure_back;  // answered not_sent, maybe: true, and in the room after all
    } else if (n > pub.floor) {
      if (pub.outstanding) --pub.outstanding;
      pub.progress_ns = driver_->now_ns();
      top_up(w, p);
    } else {
      ++(is_excused(pub.doubt, n) ? pub.doubt_back : pub.timed_out_back);  // given up on, and in the room after all
    }
  }
}

bool ChatScenario::own_message(std::string_view text, uint32_t& p, uint64_t& n, int64_t& sent_ns) const {
  uint32_t run = 0;
  const size_t r = text.find(':'), a = text.find(':', r + 1), b = text.find(':', a + 1);
  return r != std::string_view::npos && a != std::string_view::npos && b != std::string_view::npos &&
         std::from_chars(text.data(), text.data() + r, run, 16).ec == std::errc() && run == run_ &&
         std::from_chars(text.data() + r + 1, text.data() + a, p).ec == std::errc() &&
         std::from_chars(text.data() + a + 1, text.data() + b, n).ec == std::errc() &&
         std::from_chars(text.data() + b + 1, text.data() + text.size(), sent_ns).ec == std::errc() && p < publishers_;
}

// The room's log did not take the publisher's message n: refused (maybe: false, nobody gets it) or
// unsure (maybe: true, it may still come). Either way it is no longer outstanding.
void ChatScenario::not_sent(Worker& w, uint32_t me, std::string_view text, bool maybe) {
  uint32_t p = 0;
  uint64_t n = 0;
  int64_t sent_ns = 0;
  if (!own_message(text, p, n, sent_ns) || p != me || n > sent_[p].load(std::memory_order_relaxed)) {
    w.errors.add();  // an answer to a publish this connection did not make
    return;
  }
  Publisher& pub = pubs_[p];
  if (is_excused(pub.unsure, n) || std::find(pub.answered.begin(), pub.answered.end(), n) != pub.answered.end()) {
    w.errors.add();  // answered twice
    return;
  }
  if (n > pub.floor) {
    pub.answered.push_back(n);
    if (pub.outstanding) --pub.outstanding;
    pub.progress_ns = driver_->now_ns();
  } else {
    // Given up on already (counted unconfirmed or lost at the end): the answer accounts for it.
    ++(is_excused(pub.doubt, n) ? pub.doubt_back : pub.timed_out_back);
  }
  if (maybe) {
    pub.unsure.emplace_back(n, n);
  } else {
    ++pub.refused;
  }
  top_up(w, p);
}

void ChatScenario::Room::changed(uint64_t epoch, uint64_t seq) {
  std::lock_guard<std::mutex> hold(lock_);
  if (epoch != epoch_) {
    epoch_ = epoch;
    last_ = seq;
  } else {
    last_ = std::max(last_, seq);
  }
}

void ChatScenario::Room::reached(uint64_t epoch, uint64_t seq) {
  std::lock_guard<std::mutex> hold(lock_);
  if (epoch == epoch_) last_ = std::max(last_, seq);
}

uint64_t ChatScenario::Room::behind(uint64_t epoch, uint64_t seq) const {
  std::lock_guard<std::mutex> hold(lock_);
  return epoch == epoch_ && last_ > seq ? last_ - seq : 0;
}

// Given up on: what is still outstanding, the highest numbers up to `sent` not answered not_sent
// (a publisher's own messages come back in its order).
void ChatScenario::give_up(Publisher& pub, uint64_t sent, bool dropped) {
  Excused& into = dropped ? pub.doubt : pub.timed_out;
  std::sort(pub.answered.begin(), pub.answered.end());
  auto answered = pub.answered.rbegin();
  uint64_t hi = sent;
  for (unsigned left = pub.outstanding; left > 0 && hi > pub.floor;) {
    while (answered != pub.answered.rend() && *answered > hi) ++answered;
    if (answered != pub.answered.rend() && *answered == hi) {
      --hi;
      continue;
    }
    uint64_t lo = hi;  // down to the next answered one, or as many as are left
    while (left > 1 && lo - 1 > pub.floor && (answered == pub.answered.rend() || *answered != lo - 1)) {
      --lo;
      --left;
    }
    --left;
    into.emplace_back(lo, hi);
    hi = lo - 1;
  }
  pub.answered.clear();
  pub.outstanding = 0;
  pub.floor = sent;
}

void ChatScenario::dropped(Worker&, uint32_t i) {
  if (i < publishers_) give_up(pubs_[i], sent_[i].load(std::memory_order_relaxed), true);
}

void ChatScenario::tick(Worker& w) {
  const auto timeout = static_cast<int64_t>(driver_->options().confirm_timeout * 1e9);
  const int64_t now = driver_->now_ns();
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) {
    Publisher& pub = pubs_[p];
    if (pub.outstanding && w.sockets[p] && !driver_->away(p) && now - pub.progress_ns > timeout) {
      give_up(pub, sent_[p].load(std::memory_order_relaxed), false);
      pub.progress_ns = now;
    }
    top_up(w, p);  // what the window lost to a give-up
  }
}

void ChatScenario::end(Worker& w) { stopped_[w.id] = 1; }

bool ChatScenario::drained(Worker& w) {
  for (uint32_t p = w.id; p < publishers_; p += driver_->workers()) {
    if (pubs_[p].outstanding) return false;
  }
  for (uint32_t i : w.mine) {
    if (w.sockets[i] && rooms_state_[room_index(i)].behind(members_[i].epoch, members_[i].seq)) return false;
  }
  return true;
}

void ChatScenario::finish(Totals& t) {
  for (uint32_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    if (!m.opened && !m.joined) continue;
    StreamCounts c = m.counts;
    // Behind the room's last position at the end, connected: it never got those.
    if (!driver_->away(i)) c.lost += rooms_state_[room_index(i)].behind(m.epoch, m.seq);
    t.streams += c;
  }
  for (uint32_t p = 0; p < publishers_; ++p) {
    const Publisher& pub = pubs_[p];
    const auto total = [](const Excused& e) { return excused_in(e, 1, UINT64_MAX - 1); };
    t.resume.unconfirmed += total(pub.doubt) - pub.doubt_back + total(pub.unsure) - pub.unsure_back;
    t.resume.refused += pub.refused;
    // Sent on a live connection and never back: lost, unless it was told its stream broke.
    const uint64_t never_back = total(pub.timed_out) - pub.timed_out_back + pub.outstanding;
    if (pub.told_gap) {
      t.resume.unconfirmed += never_back;
    } else {
      t.streams.lost += never_back;
      t.resume.publishes_lost += never_back;
    }
  }
  for (const ResumeCounts& c : resume_) t.resume += c;
  for (auto& r : retries_) r.reset();
  pacers_.reset();
}

}  // namespace ringcast::load
