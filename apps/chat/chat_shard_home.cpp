// ChatShard's home side: the rooms whose home is this shard — members, numbered history, presence —
// changed only by requests that the connections' shards send here.
#include "apps/chat/chat_shard.hpp"

#include <fmt/format.h>

#include <ctime>

#include "apps/chat/chat_server.hpp"
#include "apps/chat/json_writer.hpp"

namespace ringcast::chat {
namespace {

// The start of every new_message text: what follows, up to the closing brace, is its payload (what
// room_changed lists in its history).
constexpr std::string_view kNewMessagePrefix = R"({"type":"new_message","payload":)";

std::string_view payload_of(std::string_view new_message) noexcept {
  return new_message.substr(kNewMessagePrefix.size(), new_message.size() - kNewMessagePrefix.size() - 1);
}

// RFC 3339 §5.6 in UTC with milliseconds: "2024-05-01T12:34:56.789Z" (24 characters).
std::string_view rfc3339_now(char (&buf)[32]) noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  const auto n = fmt::format_to_n(buf, sizeof buf, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.tm_year + 1900,
                                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1'000'000);
  return {buf, n.size};
}

}  // namespace

HomeRoom& ChatShard::home_room(std::string_view name) {
  auto it = rooms_by_name_.find(name);
  if (it == rooms_by_name_.end()) it = rooms_by_name_.emplace(std::string(name), std::make_unique<HomeRoom>()).first;
  return *it->second;
}

void ChatShard::home_join(std::string_view name, std::string_view user, unsigned from, uint64_t id, uint32_t joins,
                          bool counted) {
  HomeRoom& room = home_room(name);
  set_idle(name, room, false);
  const bool first = counted && room.add_member(user);
  out_.clear();
  JsonWriter w(out_);
  w.begin_object().key("type").value("room_changed").key("payload").begin_object();
  w.key("name").value(name).key("members").begin_array();
  for (const auto& member : room.members()) w.value(member.first);
  w.end_array().key("history").begin_array();
  room.for_each_message([&w](std::string_view m) { w.raw(payload_of(m)); });
  w.end_array().end_object().end_object();
  // The answer goes first, the presence notice after: both travel home → `from` in this order.
  if (from == id_) {
    deliver(id, joins, out_);
  } else {
    SharedBufferRef json = pack(out_, {});
    shard_.send_to(from, [server = &server_, json = std::move(json), id, joins](Shard& s) {
      server->shard(s.id()).deliver(id, joins, json->view());
    });
  }
  if (first) publish_presence(name, "joined", user);
  if (room.empty()) set_idle(name, room, true);  // a refresh for a room its member has just left
}

void ChatShard::home_leave(std::string_view name, std::string_view user) {
  auto it = rooms_by_name_.find(name);
  if (it == rooms_by_name_.end()) return;
  HomeRoom& room = *it->second;
  if (room.remove_member(user)) publish_presence(name, "left", user);
  if (room.empty()) set_idle(name, room, true);
}

void ChatShard::home_message(std::string_view name, std::string_view user, std::string_view text) {
  HomeRoom& room = home_room(name);
  const bool idle = room.idle_since != 0;
  if (idle) set_idle(name, room, false);
  char sent[32];
  std::string& json = room.append();
  JsonWriter(json)
      .begin_object()
      .key("type").value("new_message")
      .key("payload").begin_object()
      .key("room").value(name)
      .key("from").value(user)
      .key("message").value(text)
      .key("sent").value(rfc3339_now(sent))
      .key("seq").value(room.next_seq())
      .end_object()
      .end_object();
  rooms_.publish(name, json, OpCode::text);
  if (idle) set_idle(name, room, true);
}

void ChatShard::publish_presence(std::string_view room, std::string_view key, std::string_view user) {
  out_.clear();
  JsonWriter(out_)
      .begin_object()
      .key("type").value("presence")
      .key("payload").begin_object().key("room").value(room).key(key).value(user).end_object()
      .end_object();
  rooms_.publish(room, out_, OpCode::text);
}

void ChatShard::set_idle(std::string_view name, HomeRoom& room, bool idle) {
  if (idle == (room.idle_since != 0)) return;
  if (!idle) {
    room.idle_since = 0;
    --idle_rooms_;
    idle_bytes_ -= room.idle_bytes;
    return;
  }
  room.idle_since = ++tick_;
  room.idle_bytes = room.history_bytes() + sizeof(HomeRoom) + name.size();
  ++idle_rooms_;
  idle_bytes_ += room.idle_bytes;
  idle_queue_.emplace_back(std::string(name), room.idle_since);
  evict_idle();
}

void ChatShard::evict_idle() {
  while ((idle_rooms_ > kMaxIdleRooms || idle_bytes_ > kIdleHistoryBudget) && !idle_queue_.empty()) {
    auto [name, since] = std::move(idle_queue_.front());
    idle_queue_.pop_front();
    auto it = rooms_by_name_.find(name);
    if (it == rooms_by_name_.end() || it->second->idle_since != since) continue;  // used again since
    --idle_rooms_;
    idle_bytes_ -= it->second->idle_bytes;
    rooms_by_name_.erase(it);
  }
  // Entries of rooms used again pile up in the queue: drop them once they outnumber the idle rooms.
  if (idle_queue_.size() > 2 * idle_rooms_ + 64) {
    std::erase_if(idle_queue_, [this](const auto& entry) {
      auto it = rooms_by_name_.find(entry.first);
      return it == rooms_by_name_.end() || it->second->idle_since != entry.second;
    });
  }
}

}  // namespace ringcast::chat
