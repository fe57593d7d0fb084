#include <ringcast/ws/rooms/detail/durable_rooms.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <random>

#include <ringcast/core/log.hpp>
#include <ringcast/core/shard.hpp>
#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {
namespace {

// Messages one read of a gap asks for; a longer gap takes several reads.
constexpr uint32_t kFillBatch = 1000;
constexpr uint64_t kTickMs = 500;

}  // namespace

DurableRooms::DurableRooms(Rooms& rooms, RoomNetwork& network, Shard& shard)
    : rooms_(rooms), network_(network), shard_(shard), random_(std::random_device{}() | 1) {}

DurableRooms::~DurableRooms() = default;

void DurableRooms::attach_log(DurableLog* log, uint64_t node) {
  log_ = log;
  node_ = node;
  shard_.timers().schedule_in(tick_, kTickMs);
  shard_.on_stop([this] { shard_.timers().cancel(tick_); });
}

// Epochs are random, below 2^53 so that JavaScript clients read them exactly, and never 0.
uint64_t DurableRooms::new_epoch() noexcept {
  for (;;) {
    random_ ^= random_ << 13;  // xorshift64
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    const uint64_t epoch = random_ & ((uint64_t{1} << 53) - 1);
    if (epoch != 0) return epoch;
  }
}

DurableRooms::Room* DurableRooms::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

DurableRooms::Room& DurableRooms::room(std::string_view name, const RoomOptions& options) {
  if (Room* r = find(name)) {
    if (!clustered()) touch(*r);
    return *r;
  }
  auto room = std::make_unique<Room>();
  room->history = RoomHistory(options.history_size);
  Room& ref = *room;
  by_name_.emplace(std::string(name), std::move(room));
  if (!clustered()) {
    ref.epoch = new_epoch();
    ref.lru = lru_.insert(lru_.end(), std::string(name));
    return ref;
  }
  ref.sync = Sync::waiting;
  log_->watch(name);
  if (log_->ready(log_->partition_of(name))) start_read(name, ref);
  return ref;
}

void DurableRooms::touch(Room& room) { lru_.splice(lru_.end(), lru_, room.lru); }

void DurableRooms::evict() {
  for (auto at = lru_.begin(); bytes_ > network_.durable_memory && at != lru_.end();) {
    auto it = by_name_.find(*at);
    if (!it->second->members.empty()) {  // its presence must survive
      ++at;
      continue;
    }
    bytes_ -= it->second->history.bytes();
    at = lru_.erase(at);
    by_name_.erase(it);
  }
}

Position DurableRooms::position(std::string_view name) const {
  const Room* r = find(name);
  return r ? Position{r->epoch, r->top} : Position{};
}

void DurableRooms::released(std::string_view name) {
  if (!clustered()) return;  // alone, the log is here: it stays
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  log_->unwatch(name);
  for (Join* j : it->second->joins) joins_.erase(j->id);
  by_name_.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Messages

void DurableRooms::append(std::string_view name, std::string_view message, OpCode op,
                          std::unique_ptr<PublishRequest> request) {
  if (clustered()) {
    const Room* r = find(name);
    const bool known = r && r->epoch != 0;
    const uint64_t id = ++next_request_;
    appends_.emplace(id, Append{std::string(name), std::move(request)});
    log_->append(name, message, op, known ? Position{r->epoch, r->top} : Position{}, known ? r->term : 0, new_epoch(), id);
    return;
  }
  const RoomOptions& options = network_.options(name);
  Room& r = room(name, options);
  deliver(name, r, options, r.top + 1, 0, op, message, std::move(request));
  stats_.appended.add();
  evict();
}

// The message itself comes back on the room's channel, and is delivered from there (on_message): its
// publisher hears of the log's answer alone.
void DurableRooms::on_appended(uint64_t request, PublishStatus status, Position position, uint64_t term) {
  auto it = appends_.find(request);
  if (it == appends_.end()) return;
  Append a = std::move(it->second);
  appends_.erase(it);
  // Logged by a replaced primary (this node has seen a newer term of that log): that copy of the log is
  // discarded, and the message, dropped by every node that knows better, may never come.
  if (const Room* r = find(a.room); status == PublishStatus::logged && r && position.epoch == r->epoch && term < r->term) {
    status = PublishStatus::unknown;
  }
  if (status == PublishStatus::logged) {
    stats_.appended.add();
  } else {
    stats_.append_failed.add();
    rooms_.count_append_failed(a.room);
  }
  if (!a.request) return;
  a.request->outcome.status = status;
  a.request->outcome.position = status == PublishStatus::logged ? position : Position{};
  rooms_.finish(std::move(a.request));
}

void DurableRooms::deliver(std::string_view name, Room& r, const RoomOptions& options, uint64_t offset, uint64_t term,
                           OpCode op, std::string_view message, std::unique_ptr<PublishRequest> request) {
  r.top = offset;
  r.term = std::max(r.term, term);
  if (!clustered()) bytes_ -= r.history.bytes();
  r.history.append(offset, op, message);
  if (!clustered()) bytes_ += r.history.bytes();
  if (request) request->outcome.position = {r.epoch, offset};
  if (options.stamp) {
    rooms_.publish_from_home(name, options.stamp(name, offset, message), op, std::move(request));
  } else {
    rooms_.publish_from_home(name, message, op, std::move(request));
  }
}

void DurableRooms::broke(std::string_view name, Room& r) {
  stats_.breaks.add();
  log::warn("room '{}': its stream broke (the log no longer holds what this node missed); members go on from "
            "epoch {} offset {}",
            name, r.epoch, r.top);
  rooms_.broken(name, SubscribeResult{.position = {r.epoch, r.top}, .recovered = false});
}

void DurableRooms::on_message(std::string_view name, Position position, uint64_t term, OpCode op,
                              std::string_view message) {
  Room* r = find(name);
  if (!r) return;  // no member on this node
  if (r->sync == Sync::live) {
    apply(name, *r, position, term, op, message);
  } else if (r->held.size() < kMaxHeld) {  // beyond, the read that follows fetches it from the log
    r->held.push_back({position, term, op, std::string(message)});
  }
}

void DurableRooms::apply(std::string_view name, Room& r, Position position, uint64_t term, OpCode op,
                         std::string_view message) {
  if (position.epoch == r.epoch && term < r.term) {
    // A replaced primary's copy of the log (it resumed after a pause and ran what waited for it): not
    // the room's, whatever its offset.
    stats_.stale.add();
    return;
  }
  if (position.epoch != r.epoch) {
    // The log started over (offsets from 1 again): what members had cannot be continued.
    r.epoch = position.epoch;
    r.top = 0;
    r.term = term;
    r.history.clear();
    broke(name, r);
  }
  if (position.offset <= r.top) return;  // had it already (read from the log to fill a gap)
  if (position.offset == r.top + 1) {
    deliver(name, r, network_.options(name), position.offset, term, op, message);
    return;
  }
  r.held.push_back({position, term, op, std::string(message)});  // after a gap: read the gap first
  start_read(name, r);
}

void DurableRooms::start_read(std::string_view name, Room& r) {
  const uint64_t request = ++next_request_;
  r.read_request = request;
  reads_[request] = {std::string(name), 0};
  if (r.epoch == 0) {  // position and tail
    r.sync = Sync::reading;
    log_->read(name, std::nullopt, network_.options(name).history_size, new_epoch(), 0, 0, request);
  } else {             // the gap after what was delivered
    r.sync = Sync::filling;
    log_->read(name, r.top, kFillBatch, new_epoch(), r.epoch, r.term, request);
  }
}

void DurableRooms::release_held(std::string_view name, Room& r) {
  std::vector<Held> held = std::move(r.held);
  r.held.clear();
  size_t i = 0;
  for (; i < held.size() && r.sync == Sync::live; ++i) {
    apply(name, r, held[i].position, held[i].term, held[i].op, held[i].message);
  }
  // A gap again: the rest waits behind the message that found it.
  for (; i < held.size(); ++i) r.held.push_back(std::move(held[i]));
}

void DurableRooms::on_ready(unsigned partition) {
  for (auto& [name, r] : by_name_) {
    if (log_->partition_of(name) != partition) continue;
    if (r->read_request != 0) {
      r->recheck = true;  // what it reads may predate the gap; read again once it is back
    } else {
      start_read(name, *r);
    }
  }
}

void DurableRooms::on_read(uint64_t request, bool ok, Position top, uint64_t top_term,
                           std::span<const DurableLog::Entry> entries) {
  auto it = reads_.find(request);
  if (it == reads_.end()) return;
  const auto [name, join_id] = std::move(it->second);
  reads_.erase(it);
  if (join_id != 0) {  // older messages a join needs
    auto j = joins_.find(join_id);
    if (j == joins_.end()) return;
    Join& join = *j->second;
    if (ok) {
      for (const DurableLog::Entry& e : entries) join.older.push_back({e.offset, e.op, std::string(e.message)});
      join.older_epoch = top.epoch;
    } else {
      stats_.read_failed.add();
    }
    if (--join.waiting == 0) {
      if (Room* r = find(name)) {
        finish(name, *r, join);
      } else {
        joins_.erase(j);
      }
    }
    return;
  }
  Room* r = find(name);
  if (!r || r->read_request != request) return;  // forgotten, or superseded
  r->read_request = 0;
  if (!ok) {
    stats_.read_failed.add();  // the tick tries again
    return;
  }
  const RoomOptions& options = network_.options(name);
  if (r->sync == Sync::reading || top.epoch != r->epoch) {
    // The room's position (first read, or the log started over): the members' stream begins here.
    const bool restarted = r->epoch != 0;
    r->epoch = top.epoch;
    r->top = top.offset;
    r->term = top_term;
    r->history.clear();
    // A first read brings the tail; a gap read that found a new log brings messages after an offset
    // of the old one, which mean nothing here.
    if (r->sync == Sync::reading) {
      for (const DurableLog::Entry& e : entries) r->history.append(e.offset, e.op, e.message);
    }
    if (restarted) broke(name, *r);
    std::erase_if(r->held, [&](const Held& h) { return h.position.epoch != r->epoch; });
  } else {
    // A gap: deliver what the log still has of it, in order; what it no longer has is a break.
    stats_.gaps_filled.add(entries.size());
    for (const DurableLog::Entry& e : entries) {
      if (e.offset <= r->top) continue;
      if (e.offset != r->top + 1) {
        r->top = e.offset - 1;
        broke(name, *r);
      }
      deliver(name, *r, options, e.offset, e.term, e.op, e.message);
    }
    if (entries.size() >= kFillBatch && top.offset > r->top) {
      start_read(name, *r);  // more of the gap
      return;
    }
    if (top.offset > r->top && (r->held.empty() || r->held.front().position.offset > top.offset + 1)) {
      r->top = top.offset;  // trimmed away before it could be read
      broke(name, *r);
    }
  }
  r->sync = Sync::live;
  release_held(name, *r);
  if (r->sync != Sync::live) return;  // another gap: joins wait for it
  if (r->recheck) {
    r->recheck = false;
    start_read(name, *r);
  }
  std::vector<Join*> joins = std::move(r->joins);
  r->joins.clear();
  for (Join* j : joins) serve(name, *r, *j);
}

// ---------------------------------------------------------------------------------------------
// Joining

void DurableRooms::catch_up(std::unique_ptr<CatchUp> request) {
  const std::string name = request->room;
  Room& r = room(name, network_.options(name));
  auto join = std::make_unique<Join>();
  join->id = ++next_request_;
  join->request = std::move(request);
  Join& j = *join;
  joins_.emplace(j.id, std::move(join));
  if (clustered() && (r.sync == Sync::waiting || r.sync == Sync::reading)) {
    r.joins.push_back(&j);  // served once the room's position is known
    return;
  }
  serve(name, r, j);
}

void DurableRooms::serve(std::string_view name, Room& r, Join& j) {
  const CatchUp& q = *j.request;
  if (!q.presence.empty()) {
    auto [m, first] = r.members.try_emplace(q.presence, 0);
    ++m->second;
    if (!clustered()) {
      // Announced to the members before the answer: the joining socket, still pending, does not get
      // its own join — it finds itself in `members` instead.
      if (first) announce(name, network_.options(name), q.presence, true);
      for (const auto& [user, sockets] : r.members) j.members.push_back(user);
    } else {
      const uint64_t request = ++next_request_;
      presence_reads_[request] = {std::string(name), j.id};
      ++j.waiting;
      const std::string entry = presence_entry(q.presence);
      log_->presence(first ? DurableLog::PresenceOp::join : DurableLog::PresenceOp::list, name, {&entry, 1},
                     request);
    }
  }
  // Older messages than the mirror keeps, from the log (same epoch, not ahead of it).
  if (clustered() && q.since && q.since->epoch == r.epoch && q.since->offset < r.top &&
      !r.history.covers_after(q.since->offset)) {
    const uint64_t request = ++next_request_;
    reads_[request] = {std::string(name), j.id};
    ++j.waiting;
    log_->read(name, q.since->offset, static_cast<uint32_t>(std::min<uint64_t>(r.top - q.since->offset, 10'000)),
               0, r.epoch, r.term, request);
  }
  if (j.waiting == 0) finish(name, r, j);
}

void DurableRooms::on_presence_reply(uint64_t request, bool ok, bool announced, std::span<const std::string_view> users) {
  auto it = presence_reads_.find(request);
  if (it == presence_reads_.end()) return;
  const auto [name, join_id] = std::move(it->second);
  presence_reads_.erase(it);
  auto j = joins_.find(join_id);
  if (j == joins_.end()) return;
  Join& join = *j->second;
  if (ok) {
    join.members.assign(users.begin(), users.end());
    std::sort(join.members.begin(), join.members.end());
    if (announced && !join.event_seen) {
      join.awaiting_event = true;
      join.since_ms = shard_.now_ms();
      return;  // the reply's wait becomes the event's
    }
  }
  if (--join.waiting == 0) {
    if (Room* r = find(name)) {
      finish(name, *r, join);
    } else {
      joins_.erase(j);
    }
  }
}

void DurableRooms::finish(std::string_view name, Room& r, Join& j) {
  std::unique_ptr<Join> owned = std::move(joins_.at(j.id));
  joins_.erase(j.id);
  CatchUp& q = *j.request;
  const RoomOptions& options = network_.options(name);
  SubscribeResult result;
  result.position = {r.epoch, r.top};
  result.members = std::move(j.members);
  // The replay: everything after `since` (from the older messages read and the mirror), if that is
  // gap-free up to the room's position; otherwise the latest `tail`.
  std::vector<const RoomHistory::Entry*> entries;
  if (q.since) {
    result.recovered = false;
    if (q.since->epoch == r.epoch && q.since->offset <= r.top) {
      uint64_t next = q.since->offset + 1;
      if (j.older_epoch == r.epoch) {
        for (const RoomHistory::Entry& e : j.older) {
          if (e.offset == next) {
            entries.push_back(&e);
            ++next;
          }
        }
      }
      for (size_t i = r.history.first_after(next - 1); i < r.history.size(); ++i) {
        const RoomHistory::Entry& e = r.history.at(i);
        if (e.offset != next) break;
        entries.push_back(&e);
        ++next;
      }
      result.recovered = next == r.top + 1;
      if (!result.recovered) entries.clear();
    }
  }
  if (!result.recovered || !q.since) {
    const size_t n = std::min<size_t>(q.tail, r.history.size());
    for (size_t i = r.history.size() - n; i < r.history.size(); ++i) entries.push_back(&r.history.at(i));
  }
  result.replayed = static_cast<uint32_t>(entries.size());
  size_t count = 0;
  SharedBuffer* frames = replay(name, options, entries, q.max_bytes, count);
  // More than fits in one part: the socket asks for the rest, from the last offset of this one.
  const std::optional<uint64_t> more = count < entries.size() ? std::optional(entries[count - 1]->offset) : std::nullopt;
  if (q.from == shard_.id()) {
    rooms_.activate(name, q.token, result, SharedBufferRef(frames), more);
    return;
  }
  struct Answer {
    std::string room;
    uint64_t token;
    SubscribeResult result;
    SharedBufferRef frames;
    std::optional<uint64_t> more;
  };
  auto answer =
      std::make_unique<Answer>(Answer{std::move(q.room), q.token, std::move(result), SharedBufferRef(frames), more});
  shard_.send_to(q.from, [net = &network_, answer = std::move(answer)](Shard& s) {
    net->on(s.id())->activate(answer->room, answer->token, answer->result, std::move(answer->frames), answer->more);
  });
}

SharedBuffer* DurableRooms::replay(std::string_view name, const RoomOptions& options,
                                   std::span<const RoomHistory::Entry* const> entries, uint32_t max_bytes,
                                   size_t& count) const {
  count = 0;
  if (entries.empty()) return nullptr;
  std::string frames;
  std::string stamped;
  for (const RoomHistory::Entry* e : entries) {
    std::string_view message = e->message;
    if (options.stamp) {
      stamped = options.stamp(name, e->offset, e->message);
      message = stamped;
    }
    uint8_t header[kMaxFrameHeaderSize];
    const size_t n = write_frame_header(header, e->op, true, false, message.size(), nullptr);
    if (max_bytes != 0 && count > 0 && frames.size() + n + message.size() > max_bytes) break;
    frames.append(reinterpret_cast<const char*>(header), n);
    frames.append(message);
    ++count;
  }
  SharedBuffer* b = SharedBuffer::create(frames.size());
  std::memcpy(b->data(), frames.data(), frames.size());
  return b;
}

// ---------------------------------------------------------------------------------------------
// Presence

std::string DurableRooms::presence_entry(std::string_view user) const { return fmt::format("{}:{}", node_, user); }

void DurableRooms::announce(std::string_view name, const RoomOptions& options, std::string_view user, bool joined) {
  if (options.presence_message) rooms_.publish_from_home(name, options.presence_message(name, user, joined), OpCode::text);
}

void DurableRooms::on_presence(std::string_view name, std::string_view user, bool joined) {
  Room* r = find(name);
  if (!r) return;
  announce(name, network_.options(name), user, joined);
  if (!joined) return;
  // A join of this node waits for its own announcement to have passed.
  std::vector<Join*> done;
  for (auto& [id, j] : joins_) {
    if (j->request->room != name || j->request->presence != user) continue;
    j->event_seen = true;
    if (j->awaiting_event) {
      j->awaiting_event = false;
      if (--j->waiting == 0) done.push_back(j.get());
    }
  }
  for (Join* j : done) finish(name, *r, *j);
}

void DurableRooms::leave(std::string_view name, std::string_view user) {
  Room* r = find(name);
  if (!r) return;
  auto m = r->members.find(user);
  if (m == r->members.end() || --m->second > 0) return;
  r->members.erase(m);
  if (!clustered()) {
    announce(name, network_.options(name), user, false);
    return;
  }
  const std::string entry = presence_entry(user);
  log_->presence(DurableLog::PresenceOp::leave, name, {&entry, 1}, 0);
}

void DurableRooms::refresh_presence() {
  std::vector<std::string> entries;
  for (const auto& [name, r] : by_name_) {
    if (r->members.empty()) continue;
    entries.clear();
    for (const auto& [user, sockets] : r->members) entries.push_back(presence_entry(user));
    log_->presence(DurableLog::PresenceOp::refresh, name, entries, 0);
  }
}

void DurableRooms::on_tick(Timer& t) {
  DurableRooms& self = *static_cast<Tick&>(t).self;
  const uint64_t now = self.shard_.now_ms();
  if (now - self.last_refresh_ms_ >= static_cast<uint64_t>(kPresenceRefresh.count())) {
    self.last_refresh_ms_ = now;
    self.refresh_presence();
  }
  // Joins whose announcement did not come back (the channel broke meanwhile) are answered anyway.
  std::vector<Join*> late;
  for (auto& [id, j] : self.joins_) {
    if (j->awaiting_event && now - j->since_ms >= static_cast<uint64_t>(kJoinEventWait.count())) late.push_back(j.get());
  }
  for (Join* j : late) {
    j->awaiting_event = false;
    if (--j->waiting == 0) {
      if (Room* r = self.find(j->request->room)) {
        self.finish(j->request->room, *r, *j);
      } else {
        self.joins_.erase(j->id);
      }
    }
  }
  // Reads that failed are tried again.
  for (auto& [name, r] : self.by_name_) {
    if (r->read_request == 0 && (r->sync == Sync::reading || r->sync == Sync::filling) &&
        self.log_->ready(self.log_->partition_of(name))) {
      self.start_read(name, *r);
    }
  }
  self.shard_.timers().schedule_in(self.tick_, kTickMs);
}

}  // namespace ringcast
