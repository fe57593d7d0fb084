// ChatShard's socket side: the chat protocol on this shard's connections, over the library's durable
// rooms — and the room options that write the protocol's JSON for them (one file knows the format of
// a published message and of its stamped form).
#include "apps/chat/chat_shard.hpp"

#include <fmt/format.h>

#include <ctime>

#include "apps/chat/chat_server.hpp"
#include "apps/chat/json_writer.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast::chat {
namespace {

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

// A published message is the middle of its new_message payload, `"from":…,"message":…,"sent":…`
// (what the room's log keeps); stamping frames it with the room and the message's offset.
std::string stamp(std::string_view room, uint64_t seq, std::string_view fields) {
  std::string out;
  out.reserve(fields.size() + room.size() + 64);
  out.append(R"({"type":"new_message","payload":{"room":)");
  append_json_string(out, room);
  out.push_back(',');
  out.append(fields);
  out.append(R"(,"seq":)");
  fmt::format_to(std::back_inserter(out), "{}}}}}", seq);
  return out;
}

std::string presence(std::string_view room, std::string_view user, bool joined) {
  std::string out;
  JsonWriter(out)
      .begin_object()
      .key("type").value("presence")
      .key("payload").begin_object().key("room").value(room).key(joined ? "joined" : "left").value(user).end_object()
      .end_object();
  return out;
}

}  // namespace

RoomOptions chat_room_options(uint32_t history) {
  return RoomOptions{
      .kind = RoomKind::durable,
      .history_size = history,
      .stamp = stamp,
      .presence_message = presence,
  };
}

void ChatShard::open(ChatSocket& ws) {
  ChatClient& c = ws.data();
  log::debug("{} connected to {}", c.user, c.room);
  // The room was chosen at the upgrade: join it, from the page's last position when it had one.
  const Position since = c.since;
  const std::string room = std::move(c.room);
  c.room.clear();
  change_room(ws, room, since);
}

void ChatShard::closed(ChatSocket& ws) {
  // The framework drops a closing socket's subscriptions (and its presence) itself.
  ws.data().room.clear();
  sending_.erase(&ws);
}

void ChatShard::subscribed(ChatSocket& ws, std::string_view room, const SubscribeResult& result) {
  if (room != ws.data().room) return;  // a room it has left since
  out_.clear();
  JsonWriter w(out_);
  w.begin_object().key("type").value("room_changed").key("payload").begin_object();
  w.key("name").value(room).key("members").begin_array();
  for (const std::string& member : result.members) w.value(member);
  w.end_array();
  w.key("epoch").value(result.position.epoch).key("seq").value(result.position.offset);
  w.key("recovered").value(result.recovered).key("replayed").value(uint64_t{result.replayed});
  w.end_object().end_object();
  ws.send(out_);  // before the replay, which the library sends right after
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
    Position since;
    const auto epoch = payload["epoch"], seq = payload["seq"];
    const bool has_since = epoch.error() != simdjson::NO_SUCH_FIELD || seq.error() != simdjson::NO_SUCH_FIELD;
    if (payload["name"].get(name)) {
      send_error(ws, R"(change_room: "name" must be a string)");
    } else if (!valid_room_name(name)) {
      send_error(ws, "change_room: a room name has 1 to 64 characters and no control characters");
    } else if (has_since && (epoch.get(since.epoch) || seq.get(since.offset) || since.epoch == 0)) {
      send_error(ws, R"(change_room: "epoch" (from 1) and "seq" are whole numbers, given together)");
    } else {
      change_room(ws, name, since);
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
  char sent[32];
  out_.clear();
  JsonWriter(out_).begin_object().key("from").value(c.user).key("message").value(text).key("sent").value(rfc3339_now(sent)).end_object();
  const std::string_view fields = std::string_view(out_).substr(1, out_.size() - 2);  // unbraced
  if (!server_.has_broker()) {
    rooms_.publish(c.room, fields, OpCode::text);  // alone, the log is here: it always takes it
    return;
  }
  // With a broker the log is in Redis, which may not take it: the sender hears of that (not_sent).
  Sending& s = sending_[&ws];
  if (s.in_flight == 0) s.generation = ++generations_;
  const bool published = rooms_.publish(
      c.room, fields, OpCode::text, nullptr,
      [this, socket = &ws, generation = s.generation, room = c.room, text = std::string(text)](const PublishOutcome& o) {
        on_sent(socket, generation, room, text, o);
      });
  if (published) {
    ++s.in_flight;
  } else if (s.in_flight == 0) {
    sending_.erase(&ws);
  }
}

void ChatShard::on_sent(ChatSocket* ws, uint64_t generation, std::string_view room, std::string_view text,
                        const PublishOutcome& outcome) {
  auto it = sending_.find(ws);
  if (it == sending_.end() || it->second.generation != generation) return;  // closed since
  if (--it->second.in_flight == 0) sending_.erase(it);
  if (outcome.status != PublishStatus::refused && outcome.status != PublishStatus::unknown) return;
  out_.clear();
  JsonWriter(out_)
      .begin_object()
      .key("type").value("not_sent")
      .key("payload").begin_object()
      .key("room").value(room)
      .key("message").value(text)
      .key("maybe").value(outcome.status == PublishStatus::unknown)
      .end_object()
      .end_object();
  ws->send(out_);
}

void ChatShard::change_room(ChatSocket& ws, std::string_view name, const Position& since) {
  ChatClient& c = ws.data();
  // Asked for the room it is in: it joins again, so it gets a fresh room_changed (and what it missed
  // after `since`).
  if (!c.room.empty()) ws.unsubscribe(c.room);
  c.room.assign(name);
  SubscribeOptions options{.tail = kTail, .presence = c.user};
  if (since.epoch != 0) options.since = since;
  ws.subscribe(c.room, options);
}

}  // namespace ringcast::chat
