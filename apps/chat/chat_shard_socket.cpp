// ChatShard's socket side: the chat protocol on this shard's connections. Requests for a room go to
// the room's home shard (chat_shard_home.cpp) over the mesh; its answers come back through deliver().
#include "apps/chat/chat_shard.hpp"

#include "apps/chat/chat_server.hpp"
#include "apps/chat/json_writer.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast::chat {

void ChatShard::open(ChatSocket& ws) {
  ChatClient& c = ws.data();
  c.id = ++next_id_;
  sockets_.emplace(c.id, &ws);
  log::debug("{} connected (connection {})", c.user, c.id);
  change_room(ws, kLobby);
}

void ChatShard::closed(ChatSocket& ws) {
  ChatClient& c = ws.data();
  if (c.id == 0) return;
  sockets_.erase(c.id);
  // The framework drops a closing socket's subscriptions itself; the socket's own room methods are
  // not for on_close (after a dropped TCP connection they have no context to reach).
  leave_room(ws, false);
  c.id = 0;
}

void ChatShard::message(ChatSocket& ws, std::string_view text, OpCode op) {
  if (op != OpCode::text) {
    send_error(ws, "messages are JSON text, not binary");
    return;
  }
  simdjson::dom::element doc;
  simdjson::dom::object message, payload;
  std::string_view type;
  if (parser_.parse(text.data(), text.size()).get(doc)) {
    send_error(ws, "invalid JSON");
    return;
  }
  if (doc.get(message) || message["type"].get(type)) {
    send_error(ws, R"(expected {"type": string, "payload": object})");
    return;
  }
  if (message["payload"].get(payload)) {
    send_error(ws, R"("payload" must be an object)");
    return;
  }
  if (type == "send_message") {
    std::string_view body;
    if (payload["message"].get(body)) {
      send_error(ws, R"(send_message: "message" must be a string)");
    } else if (body.empty()) {
      send_error(ws, "send_message: the message is empty");
    } else {
      send_message(ws, body);
    }
  } else if (type == "change_room") {
    std::string_view name;
    if (payload["name"].get(name)) {
      send_error(ws, R"(change_room: "name" must be a string)");
    } else if (!valid_room_name(name)) {
      send_error(ws, "change_room: a room name has 1 to 64 characters and no control characters");
    } else {
      change_room(ws, name);
    }
  } else {
    scratch_.assign("unknown message type ");
    append_json_string(scratch_, utf8_truncate(type, 64));
    send_error(ws, scratch_);
  }
}

void ChatShard::send_error(ChatSocket& ws, std::string_view message) {
  out_.clear();
  JsonWriter(out_)
      .begin_object()
      .key("type").value("error")
      .key("payload").begin_object().key("message").value(message).end_object()
      .end_object();
  ws.send(out_);
}

void ChatShard::send_message(ChatSocket& ws, std::string_view text) {
  const ChatClient& c = ws.data();
  const unsigned home = rooms_.home_of(c.room);
  if (home == id_) {
    home_message(c.room, c.user, text);
    return;
  }
  shard_.send_to(home, [server = &server_, buf = pack(c.room, c.user, text), room = c.room.size(),
                        user = c.user.size()](Shard& s) {
    const std::string_view all = buf->view();
    server->shard(s.id()).home_message(all.substr(0, room), all.substr(room, user), all.substr(room + user));
  });
}

void ChatShard::change_room(ChatSocket& ws, std::string_view name) {
  ChatClient& c = ws.data();
  ++c.joins;
  if (name == c.room) {  // already there: a fresh room_changed, the member count unchanged
    ask_join(ws, false);
    return;
  }
  leave_room(ws, true);
  c.room.assign(name);
  ws.subscribe(c.room);  // first: the membership notice reaches home before the join request
  ask_join(ws, true);
}

void ChatShard::ask_join(ChatSocket& ws, bool counted) {
  const ChatClient& c = ws.data();
  const unsigned home = rooms_.home_of(c.room);
  if (home == id_) {
    home_join(c.room, c.user, id_, c.id, c.joins, counted);
    return;
  }
  shard_.send_to(home, [server = &server_, buf = pack(c.room, c.user), id = c.id, joins = c.joins,
                        room = static_cast<uint16_t>(c.room.size()), from = static_cast<uint16_t>(id_),
                        counted](Shard& s) {
    const std::string_view all = buf->view();
    server->shard(s.id()).home_join(all.substr(0, room), all.substr(room), from, id, joins, counted);
  });
}

void ChatShard::leave_room(ChatSocket& ws, bool unsubscribe) {
  ChatClient& c = ws.data();
  if (c.room.empty()) return;
  if (unsubscribe) ws.unsubscribe(c.room);
  const unsigned home = rooms_.home_of(c.room);
  if (home == id_) {
    home_leave(c.room, c.user);
  } else {
    shard_.send_to(home, [server = &server_, buf = pack(c.room, c.user), room = c.room.size()](Shard& s) {
      const std::string_view all = buf->view();
      server->shard(s.id()).home_leave(all.substr(0, room), all.substr(room));
    });
  }
  c.room.clear();
}

void ChatShard::deliver(uint64_t id, uint32_t joins, std::string_view json) {
  const auto it = sockets_.find(id);
  if (it == sockets_.end() || it->second->data().joins != joins) return;  // gone, or elsewhere by now
  it->second->send(json);
}

}  // namespace ringcast::chat
