// ChatShard: its construction, and what its sides share (the room-name rule, strings packed for the
// mesh).
#include "apps/chat/chat_shard.hpp"

#include <cstring>

#include "apps/chat/chat_page.hpp"
#include "apps/chat/chat_server.hpp"
#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast::chat {
namespace {

// The code point at s[i] of valid UTF-8, and its length.
uint32_t decode_utf8(std::string_view s, size_t i, size_t& len) noexcept {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  if (b(0) < 0x80) {
    len = 1;
    return b(0);
  }
  if (b(0) < 0xE0) {
    len = 2;
    return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
  }
  if (b(0) < 0xF0) {
    len = 3;
    return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
  }
  len = 4;
  return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
}

}  // namespace

bool valid_room_name(std::string_view name) noexcept {
  if (name.empty() || !utf8_valid(name)) return false;
  size_t count = 0;
  for (size_t i = 0; i < name.size();) {
    size_t len = 0;
    const uint32_t cp = decode_utf8(name, i, len);
    i += len;
    if (++count > kMaxRoomName) return false;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;                // Cc
    if (cp == 0x2028 || cp == 0x2029) return false;                          // line, paragraph separators
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false;  // bidi controls
  }
  return true;
}

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
