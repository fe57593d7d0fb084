#include <ringcast/ws/rooms/rooms.hpp>

#include <cstring>

#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/codec/close_code.hpp>
#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include <ringcast/ws/deflate/detail/deflater.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>
#include <ringcast/ws/detail/web_socket_extras.hpp>
#include <ringcast/ws/rooms/detail/durable_rooms.hpp>
#include <ringcast/ws/rooms/detail/frame_arena.hpp>
#include <ringcast/ws/rooms/detail/publish_request.hpp>
#include <ringcast/ws/rooms/detail/redis_rooms.hpp>
#include <ringcast/ws/rooms/detail/room_partition.hpp>

namespace ringcast {

struct RoomMember {
  WebSocketBase* ws;
  uint32_t sub;  // index of this membership in the socket's subscription list
};

// A socket waiting for its durable room's replay: counted as a member of the shard, skipped by fan-out.
// A replay longer than half the socket's max_backpressure comes in parts: the socket stays pending
// while it gets them, each asked for (from `next`) once the previous one has been sent.
struct PendingMember {
  WebSocketBase* ws;
  uint32_t sub;
  uint64_t token;          // the catch-up request's name, echoed by the home's answer
  uint32_t tail = 0;       // asked for when a later part finds the stream broken
  bool replaying = false;  // its context heard of the stream's start: later parts follow
  bool waiting = false;    // a part was queued: the next is asked for once the output drained
  Position next;           // where the next part begins
};

// Subscription::member with this bit set indexes the room's pending list instead of its members.
constexpr uint32_t kPendingBit = uint32_t{1} << 31;

struct RoomEntry {
  std::string name;
  FrameArena* arena = nullptr;      // open this iteration: frames for local members go here
  std::vector<RoomMember> members;  // on this shard
  std::vector<PendingMember> pending;  // on this shard, awaiting their replay (durable rooms)
  std::vector<uint64_t> remote;     // bit j: shard j (not this one) has members
  const RoomOptions* options = nullptr;
  RoomReport report;                // this shard's counts (members and shards are filled in when read)

  bool has_remote() const noexcept {
    for (uint64_t w : remote) {
      if (w) return true;
    }
    return false;
  }
};

namespace {

// A frame queued by reference to several members of one shard: counted without atomics, and holding
// one reference to the shared publication.
struct LocalShare {
  SharedBuffer* publication;
  uint32_t uses;
  static void release(void* p) noexcept {
    auto* s = static_cast<LocalShare*>(p);
    if (--s->uses == 0) {
      s->publication->release();
      delete s;
    }
  }
};

// A publication, in one shared buffer: a header, the room name, the frame every member can take,
// and (when permessage-deflate is in use and pays) the same message compressed once (RSV1 set).
struct PublicationHeader {
  uint32_t plain_size;
  uint32_t compressed_size;   // 0: no compressed frame
  uint16_t name_size;
  uint8_t min_window_bits;    // the compressed frame suits members whose server_max_window_bits is at least this
  uint8_t unused;
};

struct Publication {
  std::string_view name;
  std::span<const uint8_t> plain;
  std::span<const uint8_t> compressed;
  uint8_t min_window_bits;

  static Publication read(const SharedBuffer& b) noexcept {
    PublicationHeader h;
    std::memcpy(&h, b.data(), sizeof h);
    const uint8_t* p = b.data() + sizeof h;
    return {{reinterpret_cast<const char*>(p), h.name_size},
            {p + h.name_size, h.plain_size},
            {p + h.name_size + h.plain_size, h.compressed_size},
            h.min_window_bits};
  }
};

SharedBuffer* encode(std::string_view room, std::string_view message, OpCode op, std::string_view deflated,
                     uint8_t min_window_bits) {
  const size_t plain = frame_header_size(message.size(), false) + message.size();
  const size_t compressed = deflated.empty() ? 0 : frame_header_size(deflated.size(), false) + deflated.size();
  SharedBuffer* b = SharedBuffer::create(sizeof(PublicationHeader) + room.size() + plain + compressed);
  const PublicationHeader h{static_cast<uint32_t>(plain), static_cast<uint32_t>(compressed),
                            static_cast<uint16_t>(room.size()), min_window_bits, 0};
  uint8_t* p = b->data();
  std::memcpy(p, &h, sizeof h);
  p += sizeof h;
  std::memcpy(p, room.data(), room.size());
  p += room.size();
  p += write_frame_header(p, op, true, false, message.size(), nullptr);
  if (!message.empty()) std::memcpy(p, message.data(), message.size());
  p += message.size();
  if (compressed) {
    p += write_frame_header(p, op, true, true, deflated.size(), nullptr);
    std::memcpy(p, deflated.data(), deflated.size());
  }
  return b;
}

}  // namespace

struct Rooms::ReportGather {
  std::function<void(const RoomReport&)> done;
  RoomReport sum;
  unsigned pending;  // shards still to answer
};

const RoomOptions& RoomNetwork::options(std::string_view room) const {
  auto it = options_.find(room);
  return it == options_.end() ? defaults : it->second;
}

Rooms::Rooms(RoomNetwork& network, Shard& shard, Loop& loop)
    : network_(network), shard_(shard), loop_(loop), id_(shard.id()),
      durable_(std::make_unique<DurableRooms>(*this, network, shard)) {
  network_.attach(id_, this);
}

// The shard and its loop may be gone by now (the App destroys rooms after the shards end).
Rooms::~Rooms() {
  close_arenas();
  broker_.reset();
  network_.attach(id_, nullptr);
}

const DurableStats& Rooms::durable_stats() const noexcept { return durable_->stats(); }

void Rooms::attach_broker(std::unique_ptr<RedisRooms> broker, uint64_t node) {
  broker_ = std::move(broker);
  durable_->attach_log(broker_.get(), node);
}

unsigned Rooms::home_of(std::string_view room) const noexcept { return network_.home_of(room); }

unsigned RoomNetwork::home_of(std::string_view room) const noexcept {
  return room_partition(room, partitions) % shards();
}

Rooms::Room* Rooms::find(std::string_view name) const {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

Rooms::Room& Rooms::find_or_add(std::string_view name) {
  if (Room* r = find(name)) return *r;
  auto room = std::make_unique<Room>();
  room->name = std::string(name);
  room->remote.assign((network_.shards() + 63) / 64, 0);
  room->options = &network_.options(name);
  Room& ref = *room;
  rooms_.emplace(room->name, std::move(room));
  stats_.rooms.add();
  // The first member anywhere on this node: the home shard subscribes on the broker.
  if (broker_ && home_of(name) == id_ && ref.options->kind == RoomKind::live) broker_->room_added(name);
  return ref;
}

bool Rooms::has_members(const Room& room) const noexcept {
  return !room.members.empty() || !room.pending.empty();
}

void Rooms::maybe_erase(Room& room) {
  if (has_members(room) || room.has_remote()) return;
  if (room.arena) {
    FrameArena::release(room.arena);
    std::erase(open_arenas_, &room);
  }
  if (broker_ && home_of(room.name) == id_ && room.options->kind == RoomKind::live) broker_->room_removed(room.name);
  if (room.options->kind == RoomKind::durable) durable_->released(room.name);
  rooms_.erase(room.name);
  stats_.rooms.sub();
}

// ---------------------------------------------------------------------------------------------
// Membership

bool Rooms::is_subscribed(const WebSocketBase& ws, std::string_view room) const {
  if (!ws.extras_) return false;
  for (const Subscription& s : ws.extras_->subscriptions) {
    if (s.room->name == room) return true;
  }
  return false;
}

bool Rooms::subscribe(WebSocketBase& ws, std::string_view name) { return subscribe(ws, name, SubscribeOptions{}); }

bool Rooms::join_live(WebSocketBase& ws, std::string_view name) {
  if (ws.state_ != WebSocketBase::kOpen || !valid_room_name(name) || is_subscribed(ws, name)) return false;
  Room& room = find_or_add(name);
  if (!ws.extras_) ws.extras_ = new WebSocketExtras();
  auto& subs = ws.extras_->subscriptions;
  const bool first = !has_members(room);
  subs.push_back({&room, static_cast<uint32_t>(room.members.size())});
  room.members.push_back({&ws, static_cast<uint32_t>(subs.size() - 1)});
  stats_.subscriptions.add();
  if (first) announce(room, true);
  return true;
}

bool Rooms::subscribe(WebSocketBase& ws, std::string_view name, const SubscribeOptions& options) {
  const Room* known = find(name);
  if ((known ? *known->options : network_.options(name)).kind != RoomKind::durable) return join_live(ws, name);
  if (ws.state_ != WebSocketBase::kOpen || !valid_room_name(name) || is_subscribed(ws, name)) return false;
  Room& room = find_or_add(name);
  if (!ws.extras_) ws.extras_ = new WebSocketExtras();
  auto& subs = ws.extras_->subscriptions;
  const bool first = !has_members(room);
  const uint64_t token = ++next_token_;
  subs.push_back({&room, static_cast<uint32_t>(room.pending.size()) | kPendingBit,
                  options.presence.empty() ? nullptr : std::make_unique<std::string>(options.presence)});
  room.pending.push_back({&ws, static_cast<uint32_t>(subs.size() - 1), token, options.tail});
  stats_.subscriptions.add();
  // The announcement goes first: the home then forwards publications here before it answers.
  if (first) announce(room, true);
  catch_up(ws, name, token, options.since, options.tail, options.presence);
  return true;
}

void Rooms::catch_up(const WebSocketBase& ws, std::string_view name, uint64_t token, std::optional<Position> since,
                     uint32_t tail, std::string_view presence) {
  // A replay part may hold half the socket's budget: publications meanwhile have the other half.
  const auto budget = static_cast<uint32_t>(std::min<size_t>(ws.context().limits().max_backpressure / 2, UINT32_MAX));
  auto request = std::make_unique<DurableRooms::CatchUp>(
      DurableRooms::CatchUp{std::string(name), token, id_, since, tail, std::string(presence), budget});
  const unsigned home = home_of(name);
  if (home == id_) {
    durable_->catch_up(std::move(request));
  } else {
    shard_.send_to(home, [net = &network_, request = std::move(request)](Shard& s) mutable {
      net->on(s.id())->durable_->catch_up(std::move(request));
    });
  }
}

void Rooms::activate(std::string_view name, uint64_t token, const SubscribeResult& result, SharedBufferRef replay,
                     std::optional<uint64_t> more) {
  Room* room = find(name);
  if (!room) return;
  const auto pending = [&]() -> PendingMember* {
    auto it = std::find_if(room->pending.begin(), room->pending.end(),
                           [token](const PendingMember& p) { return p.token == token; });
    return it == room->pending.end() ? nullptr : &*it;
  };
  PendingMember* p = pending();
  if (!p) return;  // left or closed meanwhile
  WebSocketBase& ws = *p->ws;
  // The context hears of the stream's start once — and again when a later part finds it broken.
  const bool tell = !p->replaying || !result.recovered;
  if (tell) {
    if (result.recovered) {
      stats_.recovered.add();
    } else {
      stats_.not_recovered.add();
    }
    stats_.replayed.add(result.replayed);
  }
  if (more) {
    // A part of a longer replay: the socket stays pending (publications meanwhile come in later parts).
    p->replaying = true;
    if (tell) {
      ws.context().subscribed(ws, name, result);
      if (!(room = find(name)) || !(p = pending())) return;  // the application closed it or left
    }
    if (ws.state_ != WebSocketBase::kOpen) return;
    p->waiting = true;
    p->next = {result.position.epoch, *more};
    if (replay.get()) {
      replay->retain();  // the output queue's reference
      loop_.write_external(*ws.conn_, replay->data(), replay->size(), replay.get(),
                           [](void* b) { static_cast<SharedBuffer*>(b)->release(); });
    }
    loop_.request_drain(*ws.conn_);
    return;
  }
  const uint32_t sub = p->sub;
  remove_member(*room, static_cast<uint32_t>(p - room->pending.data()) | kPendingBit);
  ws.extras_->subscriptions[sub].member = static_cast<uint32_t>(room->members.size());
  room->members.push_back({&ws, sub});
  stats_.subscriptions.add();  // remove_member counted one off
  // The application speaks first (it may close the socket or leave the room): the replay follows
  // only if the socket is still open and still a member.
  if (tell) ws.context().subscribed(ws, name, result);
  if (!replay.get() || ws.state_ != WebSocketBase::kOpen || !is_subscribed(ws, name)) return;
  replay->retain();  // the output queue's reference
  loop_.write_external(*ws.conn_, replay->data(), replay->size(), replay.get(),
                       [](void* b) { static_cast<SharedBuffer*>(b)->release(); });
}

void Rooms::drained(WebSocketBase& ws) {
  if (!ws.extras_ || ws.state_ != WebSocketBase::kOpen) return;
  // Gathered first: an answer may come at once (the home is this shard) and change the subscriptions.
  struct Next {
    std::string room;
    uint64_t token;
    Position since;
    uint32_t tail;
  };
  std::vector<Next> next;
  for (const Subscription& s : ws.extras_->subscriptions) {
    if (!(s.member & kPendingBit)) continue;
    PendingMember& p = s.room->pending[s.member & ~kPendingBit];
    if (!p.waiting) continue;
    p.waiting = false;
    next.push_back({s.room->name, p.token, p.next, p.tail});
  }
  for (const Next& n : next) catch_up(ws, n.room, n.token, n.since, n.tail, {});
}

void Rooms::broken(std::string_view name, const SubscribeResult& result) {
  Room* room = find(name);
  if (!room) return;
  for (size_t w = 0; w < room->remote.size(); ++w) {
    for (uint64_t bits = room->remote[w]; bits; bits &= bits - 1) {
      const unsigned j = static_cast<unsigned>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
      auto notice = std::make_unique<std::pair<std::string, SubscribeResult>>(std::string(name), result);
      shard_.send_to(j, [net = &network_, notice = std::move(notice)](Shard& s) {
        net->on(s.id())->tell_broken(notice->first, notice->second);
      });
    }
  }
  tell_broken(name, result);
}

// Application callbacks may leave the room (or close): the members are collected first.
void Rooms::tell_broken(std::string_view name, const SubscribeResult& result) {
  Room* room = find(name);
  if (!room) return;
  std::vector<WebSocketBase*> members;
  members.reserve(room->members.size());
  for (const RoomMember& m : room->members) members.push_back(m.ws);
  for (WebSocketBase* ws : members) {
    if (ws->state_ == WebSocketBase::kOpen && is_subscribed(*ws, name)) ws->context().subscribed(*ws, name, result);
  }
}

void Rooms::publish_from_home(std::string_view name, std::string_view message, OpCode op,
                              std::unique_ptr<PublishRequest> request) {
  publish_here(name, message, op, nullptr, Source::home, std::move(request));
}

void Rooms::remove_member(Room& room, uint32_t index) {
  // Swap-remove, then tell the member that moved where it is now.
  if (index & kPendingBit) {
    index &= ~kPendingBit;
    const PendingMember last = room.pending.back();
    room.pending[index] = last;
    last.ws->extras_->subscriptions[last.sub].member = index | kPendingBit;
    room.pending.pop_back();
  } else {
    const RoomMember last = room.members.back();
    room.members[index] = last;
    last.ws->extras_->subscriptions[last.sub].member = index;
    room.members.pop_back();
  }
  stats_.subscriptions.sub();
}

// Drops subscription k of `ws` (swap-remove, fixing the moved one's back-reference in its room). A
// socket counted in a durable room's presence is taken out of it at the home shard.
void Rooms::remove_subscription(WebSocketBase& ws, uint32_t k) {
  auto& subs = ws.extras_->subscriptions;
  Room& room = *subs[k].room;
  remove_member(room, subs[k].member);
  if (subs[k].presence) {
    at_home(room.name, *subs[k].presence, OpCode::text,
            [](Rooms& home, std::string_view r, std::string_view user, OpCode, std::unique_ptr<PublishRequest>) {
              home.durable_->leave(r, user);
            });
  }
  subs[k] = std::move(subs.back());
  subs.pop_back();
  if (k < subs.size()) {
    const Subscription& moved = subs[k];
    if (moved.member & kPendingBit) {
      moved.room->pending[moved.member & ~kPendingBit].sub = k;
    } else {
      moved.room->members[moved.member].sub = k;
    }
  }
  if (!has_members(room)) {
    announce(room, false);
    maybe_erase(room);
  }
}

bool Rooms::unsubscribe(WebSocketBase& ws, std::string_view name) {
  if (!ws.extras_) return false;
  auto& subs = ws.extras_->subscriptions;
  for (uint32_t k = 0; k < subs.size(); ++k) {
    if (subs[k].room->name != name) continue;
    remove_subscription(ws, k);
    return true;
  }
  return false;
}

void Rooms::unsubscribe_all(WebSocketBase& ws) {
  if (!ws.extras_) return;
  auto& subs = ws.extras_->subscriptions;
  while (!subs.empty()) remove_subscription(ws, static_cast<uint32_t>(subs.size() - 1));
}

void Rooms::announce(const Room& room, bool joined) {
  const unsigned me = shard_.id();
  for (unsigned j = 0; j < network_.shards(); ++j) {
    if (j == me) continue;
    shard_.send_to(j, [net = &network_, name = room.name, me, joined](Shard& s) {
      net->on(s.id())->on_remote_membership(name, me, joined);
    });
  }
}

void Rooms::on_remote_membership(std::string_view name, unsigned shard, bool joined) {
  Room* room = joined ? &find_or_add(name) : find(name);
  if (!room) return;
  const uint64_t bit = uint64_t{1} << (shard % 64);
  if (joined) {
    room->remote[shard / 64] |= bit;
  } else {
    room->remote[shard / 64] &= ~bit;
    maybe_erase(*room);
  }
}

size_t Rooms::local_members(std::string_view name) const {
  const Room* room = find(name);
  return room ? room->members.size() : 0;
}

unsigned Rooms::shards_with_members(std::string_view name) const {
  const Room* room = find(name);
  if (!room) return 0;
  unsigned n = room->members.empty() ? 0 : 1;
  for (uint64_t w : room->remote) n += static_cast<unsigned>(__builtin_popcountll(w));
  return n;
}

// ---------------------------------------------------------------------------------------------
// Publishing

bool Rooms::publish(std::string_view name, std::string_view message, OpCode op, const WebSocketBase* exclude,
                    PublishDone on_done) {
  if (!valid_room_name(name) || message.size() > kMaxMessage) return false;
  std::unique_ptr<PublishRequest> request;
  if (on_done) request.reset(new PublishRequest{.done = std::move(on_done), .reply_to = id_});
  route(name, message, op, exclude, std::move(request));
  return true;
}

void Rooms::route(std::string_view name, std::string_view message, OpCode op, const WebSocketBase* exclude,
                  std::unique_ptr<PublishRequest> request) {
  Room* room = find(name);
  if ((room ? *room->options : network_.options(name)).kind == RoomKind::durable) {
    at_home(name, message, op,
            [](Rooms& home, std::string_view r, std::string_view m, OpCode o, std::unique_ptr<PublishRequest> q) {
              home.durable_->append(r, m, o, std::move(q));
            },
            std::move(request));
    return;
  }
  publish_here(name, message, op, exclude, Source::publisher, std::move(request));
}

void Rooms::deliver_from_broker(std::string_view name, std::string_view message, OpCode op) {
  publish_here(name, message, op, nullptr, Source::broker, nullptr);
}

void Rooms::publish_here(std::string_view name, std::string_view message, OpCode op, const WebSocketBase* exclude,
                         Source source, std::unique_ptr<PublishRequest> request) {
  Room* room = find(name);
  if (source == Source::broker) {
    if (room) ++room->report.broker_in;
  } else {
    stats_.published.add();
    if (room) ++room->report.published;
  }
  const bool broker = source == Source::publisher && broker_;
  if (request) request->outcome.status = PublishStatus::fanned_out;
  if (!room && !broker) {  // nobody anywhere is in it, as far as this shard knows
    if (request) finish(std::move(request));
    return;
  }
  // Compressed once, here, for every member on every shard that agreed to permessage-deflate.
  std::string_view deflated;
  uint8_t min_window_bits = 0;
  const DeflateOptions& z = network_.compression;
  if (room && z.enabled && z.should_compress(message.size())) {
    if (!deflater_) deflater_ = std::make_unique<SharedDeflater>(z.level, z.engine);
    deflate_scratch_.clear();
    const DeflateResult r = deflater_->compress(message, kMaxWindowBits, deflate_scratch_);
    if (r.size > 0 && r.size < message.size()) {
      deflated = deflate_scratch_;
      min_window_bits = r.min_window_bits;
    }
  }
  SharedBufferRef publication(encode(name, message, op, deflated, min_window_bits));
  if (broker) to_broker(name, *publication, op);
  if (!room) {
    if (request) finish(std::move(request));
    return;
  }
  // Tallied: every shard it is handed to answers this one with its counts, under the request's id.
  // This shard's own count is due too (pending starts at 1), so answers that come first cannot finish it.
  uint64_t tally = 0;
  if (request) {
    tally = ++next_id_;
    request->pending = 1;
    tallies_.emplace(tally, std::move(request));
  }
  if (room->has_remote()) forward(*room, *publication, tally);
  // fan_out may close members, whose callbacks may do anything: `room` is not touched after it.
  FanOut counts;
  if (!room->members.empty()) counts = fan_out(*room, *publication, exclude);
  if (tally) tallied(tally, counts);
}

void Rooms::tallied(uint64_t tally, const FanOut& counts) {
  auto it = tallies_.find(tally);
  if (it == tallies_.end()) return;
  PublishOutcome& o = it->second->outcome;
  o.shards += counts.shards;
  o.deliveries += counts.deliveries;
  o.skipped_slow += counts.skipped_slow;
  o.closed_slow += counts.closed_slow;
  if (--it->second->pending > 0) return;
  std::unique_ptr<PublishRequest> request = std::move(it->second);
  tallies_.erase(it);
  finish(std::move(request));
}

void Rooms::finish(std::unique_ptr<PublishRequest> request) {
  const unsigned to = request->reply_to;
  auto run = [request = std::move(request)](Shard&) { request->done(request->outcome); };
  // Deferred on this shard too: on_done never runs inside the publish call that started it.
  if (to == id_) {
    shard_.defer(std::move(run));
  } else {
    shard_.send_to(to, std::move(run));
  }
}

void Rooms::count_append_failed(std::string_view name) {
  if (Room* room = find(name)) ++room->report.append_failed;
}

// The room's home shard speaks for it on the broker; the publication travels there by reference.
void Rooms::to_broker(std::string_view name, SharedBuffer& publication, OpCode op) {
  auto message_of = [](const Publication& p) {
    const size_t header = (p.plain[1] & 0x7f) < 126 ? 2 : (p.plain[1] & 0x7f) == 126 ? 4 : 10;
    return std::string_view(reinterpret_cast<const char*>(p.plain.data()) + header, p.plain.size() - header);
  };
  const unsigned home = home_of(name);
  if (home == id_) {
    broker_->publish_live(name, message_of(Publication::read(publication)), op);
    return;
  }
  publication.retain();
  shard_.send_to(home, [net = &network_, ref = SharedBufferRef(&publication), op, message_of](Shard& s) {
    Rooms& rooms = *net->on(s.id());
    const Publication p = Publication::read(*ref);
    if (rooms.broker_) rooms.broker_->publish_live(p.name, message_of(p), op);
  });
}

void Rooms::forward(Room& room, SharedBuffer& publication, uint64_t tally) {
  PublishRequest* request = tally ? tallies_.at(tally).get() : nullptr;
  for (size_t w = 0; w < room.remote.size(); ++w) {
    for (uint64_t bits = room.remote[w]; bits; bits &= bits - 1) {
      const unsigned j = static_cast<unsigned>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
      publication.retain();
      stats_.forwarded.add();
      if (!request) {
        shard_.send_to(j, [net = &network_, ref = SharedBufferRef(&publication)](Shard& s) {
          Rooms& rooms = *net->on(s.id());
          if (Room* r = rooms.find(Publication::read(*ref).name); r && !r->members.empty()) {
            rooms.fan_out(*r, *ref, nullptr);
          }
        });
        continue;
      }
      // Answered whatever the shard finds (its members may have left meanwhile): the tally waits for it.
      ++request->pending;
      shard_.send_to(j, [net = &network_, ref = SharedBufferRef(&publication), tally, from = id_](Shard& s) {
        Rooms& rooms = *net->on(s.id());
        FanOut counts;
        if (Room* r = rooms.find(Publication::read(*ref).name); r && !r->members.empty()) {
          counts = rooms.fan_out(*r, *ref, nullptr);
        }
        s.send_to(from, [net, tally, counts](Shard& home) { net->on(home.id())->tallied(tally, counts); });
      });
    }
  }
}

const uint8_t* Rooms::place(Room& room, std::span<const uint8_t> frame) {
  if (!room.arena) {
    if (open_arenas_.empty()) shard_.defer([this](Shard&) { close_arenas(); });
    open_arenas_.push_back(&room);
  }
  return FrameArena::place(room.arena, frame);
}

void Rooms::close_arenas() noexcept {
  for (Room* room : open_arenas_) {
    FrameArena::release(room->arena);
    room->arena = nullptr;
  }
  open_arenas_.clear();
}

Rooms::FanOut Rooms::fan_out(Room& room, SharedBuffer& publication, const WebSocketBase* exclude) {
  const Publication pub = Publication::read(publication);
  LocalShare* share = nullptr;
  LocalShare* compressed_share = nullptr;  // the compressed frame alone, once a member takes it
  if (pub.plain.size() > kArenaLimit) {
    publication.retain();
    share = new LocalShare{&publication, 1};  // our own use, dropped after the loop
  }
  const uint8_t* placed = nullptr;  // the plain frame in the room's arena, once a member needs it
  std::vector<WebSocketBase*> too_slow;
  uint32_t delivered = 0;
  uint32_t skipped = 0;
  for (const RoomMember& m : room.members) {
    WebSocketBase& ws = *m.ws;
    if (&ws == exclude || ws.state_ != WebSocketBase::kOpen) continue;
    Connection& c = *ws.conn_;
    // A member that agreed to permessage-deflate (with a window the compression fits) gets the
    // compressed frame: RSV1 messages compressed without context suit any such receiver.
    std::span<const uint8_t> frame = pub.plain;
    if (!pub.compressed.empty() && ws.extras_ && ws.extras_->deflate.enabled &&
        ws.extras_->deflate.server_max_window_bits >= pub.min_window_bits) {
      frame = pub.compressed;
    }
    // The frame counts against the member's budget before it is queued, so a member with an empty
    // queue is not handed a whole publication larger than its budget.
    if (loop_.buffered_amount(c) + frame.size() > ws.context().limits().max_backpressure) {
      if (room.options->slow_consumer == SlowConsumer::skip) {
        ++skipped;
      } else {
        too_slow.push_back(&ws);
      }
      continue;
    }
    if (share && frame.data() != pub.plain.data()) {
      // A compressed frame is a sliver of its publication (a 16 KiB bomb inflates to 16 MiB): a
      // member that referenced the publication would keep all of it alive while counted for the
      // sliver. It gets a buffer of its own, made once here.
      if (!compressed_share) {
        SharedBuffer* copy = SharedBuffer::create(frame.size());
        std::memcpy(copy->data(), frame.data(), frame.size());
        compressed_share = new LocalShare{copy, 1};
      }
      ++compressed_share->uses;
      loop_.write_external(c, compressed_share->publication->data(), frame.size(), compressed_share,
                           &LocalShare::release);
    } else if (share) {
      ++share->uses;
      loop_.write_external(c, frame.data(), frame.size(), share, &LocalShare::release);
    } else if (frame.data() == pub.plain.data()) {
      if (!placed) placed = place(room, frame);
      FrameArena* arena = room.arena;
      ++arena->refs;  // the room's own reference keeps it above zero meanwhile
      if (!loop_.write_shared(c, placed, frame.size(), arena, &FrameArena::release)) --arena->refs;
    } else {
      loop_.write(c, frame.data(), frame.size());  // compressed: a few members, copied
    }
    ++delivered;
  }
  // Counted once per fan-out, for the shard (/metrics) and for the room (its report).
  const FanOut counts{1, delivered, skipped, static_cast<uint32_t>(too_slow.size())};
  stats_.deliveries.add(delivered);
  room.report.deliveries += delivered;
  if (skipped | counts.closed_slow) {
    stats_.skipped_slow.add(skipped);
    stats_.closed_slow.add(counts.closed_slow);
    room.report.skipped_slow += skipped;
    room.report.closed_slow += counts.closed_slow;
  }
  if (share) LocalShare::release(share);
  if (compressed_share) LocalShare::release(compressed_share);
  // Closing runs application callbacks (which may unsubscribe, even publish): after the loop, and
  // without touching `room` again.
  for (WebSocketBase* ws : too_slow) ws->close(close_code::kPolicyViolation, "too slow");
  return counts;
}

bool Rooms::publish_sequenced(std::string_view name, std::string_view message, OpCode op, PublishDone on_done) {
  if (!valid_room_name(name) || message.size() > kMaxMessage) return false;
  std::unique_ptr<PublishRequest> request;
  if (on_done) request.reset(new PublishRequest{.done = std::move(on_done), .reply_to = id_});
  at_home(name, message, op,
          [](Rooms& home, std::string_view r, std::string_view m, OpCode o, std::unique_ptr<PublishRequest> q) {
            home.sequence(r, m, o, std::move(q));
          },
          std::move(request));
  return true;
}

void Rooms::at_home(std::string_view name, std::string_view message, OpCode op, HomeCall call,
                    std::unique_ptr<PublishRequest> request) {
  const unsigned home = home_of(name);
  if (home == id_) {
    call(*this, name, message, op, std::move(request));
    return;
  }
  // The raw message travels to the home shard: [name][message].
  SharedBuffer* raw = SharedBuffer::create(name.size() + message.size());
  std::memcpy(raw->data(), name.data(), name.size());
  if (!message.empty()) std::memcpy(raw->data() + name.size(), message.data(), message.size());
  shard_.send_to(home, [net = &network_, ref = SharedBufferRef(raw), call, request = std::move(request),
                        name_len = static_cast<uint32_t>(name.size()), op](Shard& s) mutable {
    const std::string_view all = ref->view();
    call(*net->on(s.id()), all.substr(0, name_len), all.substr(name_len), op, std::move(request));
  });
}

void Rooms::sequence(std::string_view name, std::string_view message, OpCode op, std::unique_ptr<PublishRequest> request) {
  auto it = sequences_.find(name);
  if (it == sequences_.end()) it = sequences_.emplace(std::string(name), 0).first;
  const uint64_t seq = ++it->second;
  if (request) request->outcome.position = {0, seq};
  const RoomOptions& options = network_.options(name);
  if (options.stamp) {
    route(name, options.stamp(name, seq, message), op, nullptr, std::move(request));
  } else {
    route(name, message, op, nullptr, std::move(request));
  }
}

// ---------------------------------------------------------------------------------------------
// Reports

RoomReport Rooms::local_report(std::string_view name) const {
  const Room* room = find(name);
  if (!room) return {};
  RoomReport r = room->report;
  r.members = room->members.size() + room->pending.size();
  r.shards = has_members(*room) ? 1 : 0;
  return r;
}

void Rooms::report(std::string_view name, std::function<void(const RoomReport&)> done) {
  auto gather = std::make_unique<ReportGather>(ReportGather{std::move(done), local_report(name), network_.shards() - 1});
  if (gather->pending == 0) {
    shard_.defer([gather = std::move(gather)](Shard&) { gather->done(gather->sum); });
    return;
  }
  const uint64_t id = ++next_id_;
  reports_.emplace(id, std::move(gather));
  for (unsigned j = 0; j < network_.shards(); ++j) {
    if (j == id_) continue;
    shard_.send_to(j, [net = &network_, room = std::make_unique<std::string>(name), id, from = id_](Shard& s) {
      auto report = std::make_unique<RoomReport>(net->on(s.id())->local_report(*room));
      s.send_to(from, [net, id, report = std::move(report)](Shard& back) { net->on(back.id())->reported(id, *report); });
    });
  }
}

void Rooms::reported(uint64_t id, const RoomReport& report) {
  auto it = reports_.find(id);
  if (it == reports_.end()) return;
  it->second->sum += report;
  if (--it->second->pending > 0) return;
  std::unique_ptr<ReportGather> gather = std::move(it->second);
  reports_.erase(it);
  gather->done(gather->sum);
}

}  // namespace ringcast
