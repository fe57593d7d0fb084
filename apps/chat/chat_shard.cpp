#include "apps/chat/chat_shard.hpp"

#include <openssl/sha.h>

#include <cstring>
#include <ctime>

#include "apps/chat/chat_page.hpp"
#include "apps/chat/chat_server.hpp"
#include "apps/chat/json_writer.hpp"
#include "apps/chat/password_hash.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/core/worker_pool.hpp>
#include <ringcast/ws/codec/display_name.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

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

// Strings travel between shards in one shared buffer: [a][b][c], with the lengths of a and b beside.
SharedBufferRef pack(std::string_view a, std::string_view b, std::string_view c = {}) {
  SharedBuffer* buf = SharedBuffer::create(a.size() + b.size() + c.size());
  uint8_t* p = buf->data();
  if (!a.empty()) std::memcpy(p, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + a.size(), b.data(), b.size());
  if (!c.empty()) std::memcpy(p + a.size() + b.size(), c.data(), c.size());
  return SharedBufferRef(buf);
}

// The 'sha256-…' source of the first <tag>…</tag> text in `html`, for the Content-Security-Policy.
std::string inline_hash(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  const size_t at = html.find(open);
  if (at == std::string_view::npos) return {};
  const size_t start = html.find('>', at);
  const size_t end = start == std::string_view::npos ? start : html.find(close, start);
  if (end == std::string_view::npos) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(html.data() + start + 1), end - start - 1, digest);
  std::string b64 = detail::base64_encode(digest, sizeof digest);
  while (b64.size() % 4) b64 += '=';
  return "'sha256-" + b64 + "'";
}

// The page may run its own inline script and style, talk to this server, and nothing else.
std::string content_security_policy(std::string_view html) {
  return "default-src 'none'; script-src " + inline_hash(html, "script") + "; style-src " + inline_hash(html, "style") +
         "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

void send_page(Response& res, std::string_view html, std::string_view csp) {
  res.header("Cache-Control", "no-cache")
      .header("Content-Security-Policy", csp)
      .header("X-Content-Type-Options", "nosniff")
      .header("Referrer-Policy", "no-referrer")
      .send(html, "text/html; charset=utf-8");
}

void json_error(Response& res, int status, std::string_view message) {
  std::string body;
  JsonWriter(body).begin_object().key("error").value(message).end_object();
  res.status(status).json(body);
}

}  // namespace

bool valid_room_name(std::string_view name) noexcept { return valid_display_name(name, kMaxRoomName); }

ChatShard::ChatShard(ChatServer& server, Shard& shard, Rooms& rooms, uint16_t port)
    : server_(server), shard_(shard), rooms_(rooms), id_(shard.id()) {
  origins_ = server.options().allowed_origins.empty() ? own_origins(server.host(), port) : server.options().allowed_origins;
  csp_ = content_security_policy(chat_page());
}

// ---------------------------------------------------------------------------------------------
// HTTP

void ChatShard::page(Request&, Response& res) {
  const StaticFiles* web = server_.web();
  if (!web) {
    send_page(res, chat_page(), csp_);
    return;
  }
  StaticFile file;
  if (web->read("index.html", file) != 200) {
    res.status(file.status).send(http_reason_phrase(file.status));
    return;
  }
  send_page(res, file.body, content_security_policy(file.body));
}

void ChatShard::login(Request& req, Response& res) {
  res.header("Cache-Control", "no-store");
  simdjson::dom::element doc;
  std::string_view user, password;
  if (parser_.parse(req.body().data(), req.body().size()).get(doc) || doc["username"].get(user) ||
      doc["password"].get(password)) {
    json_error(res, 400, R"(expected a JSON object {"username": string, "password": string})");
    return;
  }
  const SocketAddress client = req.remote_address();
  if (const unsigned wait = server_.throttle().take(client)) {
    // RFC 6585 §4: too many requests; Retry-After says when this address may try again.
    res.header("Retry-After", std::to_string(wait));
    json_error(res, 429, "too many failed logins from this address; try again later");
    return;
  }
  // The hash runs on a login thread; its answer comes back to this connection's shard. The job owns
  // copies of what it needs: the request's bytes are gone once this handler returns.
  const PendingResponse pending = res.defer();
  WorkerPool::Job job = [server = &server_, pending, client, user = std::string(user),
                         password = std::string(password)]() mutable {
    check_login(*server, pending, client, user, password);
    std::fill(password.begin(), password.end(), '\0');
  };
  if (!server_.logins().submit(std::move(job))) {
    server_.throttle().give_back(client);  // refused before any work: costs the address nothing
    pending.answer([](Response& r) {
      // RFC 9110 §15.6.4, §10.2.3: every login thread is busy and the queue is full.
      r.header("Cache-Control", "no-store").header("Retry-After", "1");
      json_error(r, 503, "too many logins at once; try again in a second");
    });
  }
}

void check_login(ChatServer& server, const PendingResponse& pending, const SocketAddress& client,
                 std::string_view user, std::string_view password) {
  // A login thread: what is touched here is thread-safe (users: read-only; tokens, throttle: locked).
  int status = 200;
  std::string body;
  if (server.users().check(user, password)) {
    server.throttle().give_back(client);
    const std::string token = server.otps().issue(user);
    if (token.empty()) {
      status = 500;
      JsonWriter(body).begin_object().key("error").value("no token could be made").end_object();
    } else {
      JsonWriter(body).begin_object().key("otp").value(token).end_object();
    }
  } else {
    std::string name;
    append_json_string(name, utf8_truncate(user, 64));  // quoted and escaped: one log line whatever the name
    log::info("login refused for {}", name);
    status = 401;
    JsonWriter(body).begin_object().key("error").value("wrong username or password").end_object();
  }
  pending.answer([status, body = std::move(body)](Response& res) {
    res.header("Cache-Control", "no-store");
    // RFC 9110 §15.5.2: a 401 carries a challenge. The credentials go in the body, so name the
    // token this login hands out instead.
    if (status == 401) res.header("WWW-Authenticate", R"(Bearer realm="ringcast-chat")");
    res.status(status).json(body);
  });
}

bool ChatShard::origin_allowed(std::string_view origin) const noexcept {
  // RFC 6455 §10.2: the Origin header tells which page opens the socket. Clients that are not
  // browsers send none; the one-time token is what admits them.
  if (origin.empty()) return true;
  for (const std::string& o : origins_) {
    if (ascii_iequals(o, origin)) return true;
  }
  return false;
}

void ChatShard::upgrade(Request& req, Upgrade<ChatClient>& up) {
  if (!origin_allowed(up.origin())) {
    up.reject(403, "Origin not allowed");
    return;
  }
  std::optional<std::string> user = server_.otps().redeem(req.query("otp"));
  if (!user) {
    up.reject(401, "a fresh one-time token from POST /login is needed: /ws?otp=TOKEN");
    return;
  }
  up.accept(ChatClient{std::move(*user)});
}

// ---------------------------------------------------------------------------------------------
// WebSocket: the connection's side

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

// ---------------------------------------------------------------------------------------------
// The home side

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
