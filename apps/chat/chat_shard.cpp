// ChatShard: its construction, and what its sides share (the room-name rule, strings packed for the
// mesh).
#include "apps/chat/chat_shard.hpp"

#include <cstring>

#include "apps/chat/chat_page.hpp"
#include "apps/chat/chat_server.hpp"
#include <ringcast/ws/codec/display_name.hpp>

namespace ringcast::chat {

bool valid_room_name(std::string_view name) noexcept { return valid_display_name(name, kMaxRoomName); }

SharedBufferRef pack(std::string_view a, std::string_view b, std::string_view c) {
  SharedBuffer* buf = SharedBuffer::create(a.size() + b.size() + c.size());
  uint8_t* p = buf->data();
  if (!a.empty()) std::memcpy(p, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + a.size(), b.data(), b.size());
  if (!c.empty()) std::memcpy(p + a.size() + b.size(), c.data(), c.size());
  return SharedBufferRef(buf);
}

ChatShard::ChatShard(ChatServer& server, Shard& shard, Rooms& rooms, uint16_t port)
    : server_(server), shard_(shard), rooms_(rooms), id_(shard.id()) {
  origins_ = server.options().allowed_origins.empty() ? own_origins(server.host(), port) : server.options().allowed_origins;
  csp_ = content_security_policy(chat_page());
}

}  // namespace ringcast::chat
