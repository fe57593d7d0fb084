#pragma once
// ChatShard: the chat on one shard — its connections, the rooms whose home it is, and the handlers
// of the chat protocol. One per shard, made on the shard's thread at start; every method runs on
// that thread.
//
// Protocol (JSON text messages {"type": T, "payload": {...}}):
//   client send_message {message}  → new_message {room, from, message, sent, seq} to every member of
//                                    the sender's room, the sender included
//   client change_room {name}      → room_changed {name, members, history} to the sender, then
//                                    presence {room, joined} to the room when the user was not in it
//   at open                        → room_changed for "general"
//   leaving (change_room, close)   → presence {room, left} when it was the user's last connection there
//   anything malformed             → error {message}; the connection stays open
//
// Cross-shard flow. A room's home shard (Rooms::home_of) owns its HomeRoom; the connection's shard
// sends it requests over the mesh and nothing else touches it:
//   - send_message: (room, author, text) go home; home numbers the message, writes its JSON once,
//     keeps it in the history and publishes it (Rooms::publish from home: one publisher per room, so
//     one order for every member everywhere).
//   - change_room: the socket subscribes here FIRST — Rooms then tells every shard, and since the mesh
//     is FIFO per pair of shards that notice reaches home before the join request sent next. Home
//     counts the member and answers with room_changed in its queue to this shard, ahead of any later
//     publication, so the client sees room_changed before any message newer than its history (older
//     ones in flight may come first; the page de-duplicates by (room, seq)). The answer names the
//     connection by a per-shard id and the number of its room changes: an answer for a connection that
//     has gone, or for a room it has left since, is dropped.
//   - leaving: unsubscribe here, tell home; home announces "left" when the user's count drops to 0.
// When home is this shard the request is handled at once, in the same order.
//
// Code: the HTTP side in chat_shard_http.cpp, the connection's side in chat_shard_socket.cpp, the home
// side in chat_shard_home.cpp.
//
// Memory: rooms nobody is in keep their history (a user coming back sees it) until more than
// kMaxIdleRooms of them, or more than kIdleHistoryBudget bytes of their history, pile up on a shard;
// the longest-empty go first (their sequence then restarts, which the page shows as a new epoch).
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "apps/chat/home_room.hpp"
#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/ws/app.hpp>

namespace ringcast::chat {

class ChatServer;

// Per connection (the WebSocket's user data): 80 bytes.
struct ChatClient {
  std::string user;    // 32: login name
  std::string room;    // 32: the room it is in ("" before open and after close)
  uint64_t id = 0;     // 8: number of this connection on its shard (0: not open)
  uint32_t joins = 0;  // 4: room changes so far; an answer for an older one is stale
};
static_assert(sizeof(ChatClient) <= 80, "keep the per-connection chat state small");

using ChatSocket = WebSocket<ChatClient>;

// The page may run its own inline script and style, talk to this server, and nothing else: the
// Content-Security-Policy of a chat page `html`.
std::string content_security_policy(std::string_view html);

// Strings travel between shards in one shared buffer: [a][b][c], with the lengths of a and b beside.
SharedBufferRef pack(std::string_view a, std::string_view b, std::string_view c = {});

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
  static constexpr size_t kMaxIdleRooms = 4096;
  static constexpr size_t kIdleHistoryBudget = 16 << 20;

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

  // ---- Home side: requests for rooms whose home is this shard ----
  void home_join(std::string_view room, std::string_view user, unsigned from, uint64_t id, uint32_t joins,
                 bool counted);
  void home_leave(std::string_view room, std::string_view user);
  void home_message(std::string_view room, std::string_view user, std::string_view text);
  // An answer from a home shard for connection `id` (dropped when it is gone or has moved on).
  void deliver(uint64_t id, uint32_t joins, std::string_view json);

  size_t home_rooms() const noexcept { return rooms_by_name_.size(); }

 private:
  void send_message(ChatSocket& ws, std::string_view text);
  void change_room(ChatSocket& ws, std::string_view name);
  void ask_join(ChatSocket& ws, bool counted);
  void leave_room(ChatSocket& ws, bool unsubscribe);
  void send_error(ChatSocket& ws, std::string_view message);
  void publish_presence(std::string_view room, std::string_view key, std::string_view user);
  bool origin_allowed(std::string_view origin) const noexcept;

  HomeRoom& home_room(std::string_view name);
  void set_idle(std::string_view name, HomeRoom& room, bool idle);
  void evict_idle();

  ChatServer& server_;
  Shard& shard_;
  Rooms& rooms_;
  const unsigned id_;
  std::vector<std::string> origins_;  // allowed Origin values
  std::string csp_;                   // Content-Security-Policy of the compiled-in page

  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, ChatSocket*> sockets_;  // open connections of this shard, by id

  simdjson::dom::parser parser_;  // reused: parsing a message allocates nothing once warm
  std::string out_;               // reused: JSON being written
  std::string scratch_;

  RoomNameMap<std::unique_ptr<HomeRoom>> rooms_by_name_;  // rooms whose home is this shard
  // Rooms that became empty, oldest first, with the tick they did (stale entries are skipped).
  std::deque<std::pair<std::string, uint64_t>> idle_queue_;
  size_t idle_rooms_ = 0;
  size_t idle_bytes_ = 0;
  uint64_t tick_ = 0;
};

}  // namespace ringcast::chat
