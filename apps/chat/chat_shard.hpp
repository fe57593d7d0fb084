#pragma once
// ChatShard: the chat on one shard — its connections, the rooms whose home it is, and the handlers
// of the chat protocol. One per shard, made on the shard's thread at start; every method runs on
// that thread.
//
// Protocol (JSON text messages {"type": T, "payload": {...}}):
//   GET /ws?otp=T[&room=R[&epoch=E&seq=N]]
//                                  → joins room R ("general" by default), recovering what came after
//                                    message N of epoch E when given (a reconnecting page)
//   client send_message {message}  → new_message {room, from, message, sent, seq} to every member of
//                                    the sender's room, the sender included
//   client change_room {name[, epoch, seq]}
//                                  → room_changed {name, members, epoch, seq, recovered, replayed} to
//                                    the sender, then the room's `replayed` latest messages (or every
//                                    one after (epoch, seq) when `recovered`) as new_message, oldest
//                                    first; presence {room, joined} to the room when the user was not in it
//   leaving (change_room, close)   → presence {room, left} when it was the user's last connection there
//   a send_message the room's log did not take (with --broker: Redis failing)
//                                  → not_sent {room, message, maybe} to the sender: nobody got it, or
//                                    (maybe: true) its answer was lost and it may still come
//   anything malformed             → error {message}; the connection stays open
// `seq` is the message's offset in the room's log and `epoch` names the log: one order, the same
// numbers on every shard and, with --broker, on every node (ringcast/ws/rooms/position.hpp). When the
// server lost part of the log, room_changed says recovered: false (also later, on a live stream that
// broke) and the page shows the break.
//
// Rooms are the library's durable rooms: numbering, history, recovery and presence (counted per user,
// announced once whatever the tabs, shards and nodes) are the library's; the chat writes the JSON
// (ChatServer's room options) and speaks the protocol. Tokens are the OtpStore's, or Redis' with
// --broker (valid on every node, used once).
//
// Code: the HTTP side in chat_shard_http.cpp, the connection's side in chat_shard_socket.cpp.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include <ringcast/ws/app.hpp>

namespace ringcast::chat {

class ChatServer;

// Per connection (the WebSocket's user data): 80 bytes.
struct ChatClient {
  std::string user;  // 32: login name
  std::string room;  // 32: the room it is in (from the upgrade until it closes)
  Position since;    // 16: the upgrade's resume position (epoch 0: none), used at open
};
static_assert(sizeof(ChatClient) <= 80, "keep the per-connection chat state small");

// The chat's rooms: durable, the latest `history` messages kept, the protocol's new_message and
// presence JSON written from what send_message publishes.
RoomOptions chat_room_options(uint32_t history);

using ChatSocket = WebSocket<ChatClient>;

// The page may run its own inline script and style, talk to this server, and nothing else: the
// Content-Security-Policy of a chat page `html`.
std::string content_security_policy(std::string_view html);

// The password check of POST /login, on a login thread (ChatServer::logins): hashes, issues the
// token, and answers `pending` on the connection's shard — 200 {"otp"}, 401, or 500.
void check_login(ChatServer& server, const PendingResponse& pending, const SocketAddress& client,
                 std::string_view user, std::string_view password);

// Room names: 1 to 64 characters (code points) of valid UTF-8, shown as they are: no control
// character, line separator or bidirectional control (ringcast/ws/codec/display_name.hpp).
bool valid_room_name(std::string_view name) noexcept;
inline constexpr size_t kMaxRoomName = 64;
inline constexpr std::string_view kLobby = "general";

class ChatShard {
 public:
  ChatShard(ChatServer& server, Shard& shard, Rooms& rooms, uint16_t port);
  ChatShard(const ChatShard&) = delete;
  ChatShard& operator=(const ChatShard&) = delete;

  // ---- HTTP ----
  void page(Request& req, Response& res);
  // Reads the JSON and the throttle here, then defers: the hash runs on a login thread.
  void login(Request& req, Response& res);
  void upgrade(Request& req, Upgrade<ChatClient>& up);

  // ---- WebSocket ----
  void open(ChatSocket& ws);
  void message(ChatSocket& ws, std::string_view text, OpCode op);
  void closed(ChatSocket& ws);

  void subscribed(ChatSocket& ws, std::string_view room, const SubscribeResult& result);

  // ---- Tokens in Redis (ChatServer::shared_tokens) ----
  // Runs `task` on this shard (from any thread).
  void post(std::function<void()> task) {
    shard_.post([task = std::move(task)](Shard&) { task(); });
  }
  // A login's token, stored in Redis for every node, then answered on `pending` (503 when Redis
  // cannot take it).
  void issue_shared_token(const PendingResponse& pending, const std::string& user);

 private:
  void send_message(ChatSocket& ws, std::string_view text);
  // What became of a send_message of `ws` (generation `generation`, see Sending) to `room`.
  void on_sent(ChatSocket* ws, uint64_t generation, std::string_view room, std::string_view text,
               const PublishOutcome& outcome);
  void change_room(ChatSocket& ws, std::string_view name, const Position& since);
  void send_error(ChatSocket& ws, std::string_view message);
  bool origin_allowed(std::string_view origin) const noexcept;
  std::string token_key(std::string_view token) const;

  ChatServer& server_;
  Shard& shard_;
  Rooms& rooms_;
  std::vector<std::string> origins_;  // allowed Origin values
  std::string csp_;                   // Content-Security-Policy of the compiled-in page

  simdjson::dom::parser parser_;  // reused: parsing a message allocates nothing once warm
  std::string out_;               // reused: JSON being written
  std::string scratch_;
  // With a broker, connections with messages whose log's answer is still to come (a closed one is
  // forgotten; a generation tells a new connection at the same address from it).
  struct Sending {
    uint64_t generation = 0;
    uint32_t in_flight = 0;
  };
  std::unordered_map<ChatSocket*, Sending> sending_;
  uint64_t generations_ = 0;
};

}  // namespace ringcast::chat
