// ChatShard: its construction, and what its sides share (the room-name rule).
#include "apps/chat/chat_shard.hpp"

#include "apps/chat/chat_page.hpp"
#include "apps/chat/chat_server.hpp"
#include <ringcast/ws/codec/display_name.hpp>

namespace ringcast::chat {

bool valid_room_name(std::string_view name) noexcept { return valid_display_name(name, kMaxRoomName); }

ChatShard::ChatShard(ChatServer& server, Shard& shard, Rooms& rooms, uint16_t port)
    : server_(server), shard_(shard), rooms_(rooms) {
  origins_ = server.options().allowed_origins.empty() ? own_origins(server.host(), port) : server.options().allowed_origins;
  csp_ = content_security_policy(chat_page());
}

}  // namespace ringcast::chat
