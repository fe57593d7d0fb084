#include <ringcast/ws/rooms/detail/durable_rooms.hpp>

#include <cstring>
#include <random>

#include <ringcast/core/shard.hpp>
#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {

DurableRooms::DurableRooms(Rooms& rooms, RoomNetwork& network, Shard& shard)
    : rooms_(rooms), network_(network), shard_(shard), random_(std::random_device{}() | 1) {}

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

DurableRooms::Room& DurableRooms::room(std::string_view name, const RoomOptions& options) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    touch(*it->second);
    return *it->second;
  }
  auto room = std::make_unique<Room>();
  room->epoch = new_epoch();
  room->history = RoomHistory(options.history_size);
  room->lru = lru_.insert(lru_.end(), std::string(name));
  Room& ref = *room;
  by_name_.emplace(std::string(name), std::move(room));
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

void DurableRooms::announce(std::string_view name, const RoomOptions& options, std::string_view user, bool joined) {
  if (options.presence_message) rooms_.publish_from_home(name, options.presence_message(name, user, joined), OpCode::text);
}

void DurableRooms::leave(std::string_view name, std::string_view user) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  auto m = it->second->members.find(user);
  if (m == it->second->members.end() || --m->second > 0) return;
  it->second->members.erase(m);
  announce(name, network_.options(name), user, false);
}

Position DurableRooms::position(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? Position{} : Position{it->second->epoch, it->second->top};
}

void DurableRooms::append(std::string_view name, std::string_view message, OpCode op) {
  const RoomOptions& options = network_.options(name);
  Room& r = room(name, options);
  const uint64_t offset = ++r.top;
  bytes_ -= r.history.bytes();
  r.history.append(offset, op, message);
  bytes_ += r.history.bytes();
  if (options.stamp) {
    rooms_.publish_from_home(name, options.stamp(name, offset, message), op);
  } else {
    rooms_.publish_from_home(name, message, op);
  }
  evict();
}

SharedBuffer* DurableRooms::replay(std::string_view name, const Room& r, const RoomOptions& options,
                                   std::optional<uint64_t> after, uint32_t tail, uint32_t& count) const {
  const RoomHistory& h = r.history;
  const size_t first = after ? h.first_after(*after) : h.size() - std::min<size_t>(tail, h.size());
  count = static_cast<uint32_t>(h.size() - first);
  if (count == 0) return nullptr;
  std::string frames;
  std::string stamped;
  for (size_t i = first; i < h.size(); ++i) {
    const RoomHistory::Entry& e = h.at(i);
    std::string_view message = e.message;
    if (options.stamp) {
      stamped = options.stamp(name, e.offset, e.message);
      message = stamped;
    }
    uint8_t header[kMaxFrameHeaderSize];
    const size_t n = write_frame_header(header, e.op, true, false, message.size(), nullptr);
    frames.append(reinterpret_cast<const char*>(header), n);
    frames.append(message);
  }
  SharedBuffer* b = SharedBuffer::create(frames.size());
  std::memcpy(b->data(), frames.data(), frames.size());
  return b;
}

void DurableRooms::catch_up(std::unique_ptr<CatchUp> request) {
  const RoomOptions& options = network_.options(request->room);
  Room& r = room(request->room, options);
  SubscribeResult result;
  result.position = {r.epoch, r.top};
  std::optional<uint64_t> after;
  if (request->since) {
    const Position& since = *request->since;
    // Recoverable: the same log, not ahead of it, and every message after it still kept.
    result.recovered = since.epoch == r.epoch && since.offset <= r.top && r.history.covers_after(since.offset);
    if (result.recovered) after = since.offset;
  }
  SharedBuffer* frames = replay(request->room, r, options, after, request->tail, result.replayed);
  if (!request->presence.empty()) {
    // Announced to the members before the answer: the joining socket, still pending, does not get its
    // own join — it finds itself in `members` instead.
    auto [m, first] = r.members.try_emplace(request->presence, 0);
    ++m->second;
    if (first) announce(request->room, options, request->presence, true);
    result.members.reserve(r.members.size());
    for (const auto& [user, sockets] : r.members) result.members.push_back(user);
  }
  if (request->from == shard_.id()) {
    rooms_.activate(request->room, request->token, result, SharedBufferRef(frames));
    return;
  }
  struct Answer {
    std::string room;
    uint64_t token;
    SubscribeResult result;
    SharedBufferRef frames;
  };
  auto answer = std::make_unique<Answer>(Answer{std::move(request->room), request->token, result, SharedBufferRef(frames)});
  shard_.send_to(request->from, [net = &network_, answer = std::move(answer)](Shard& s) {
    net->on(s.id())->activate(answer->room, answer->token, answer->result, std::move(answer->frames));
  });
}

}  // namespace ringcast
