#pragma once
// The game demo's wire protocol, version 1 (apps/game/PROTOCOL.md): message types, the encoders of
// the server's messages, the decoder of the client's inputs, and the rules for match and player
// names. Pure functions, callable from any thread.
//
// Every message is one binary WebSocket message. Integers are little-endian and unsigned; f32 is an
// IEEE 754 binary32, little-endian; reserved bytes are written as 0 and ignored when read.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <ringcast/ws/codec/display_name.hpp>

namespace ringcast::game {

inline constexpr uint8_t kVersion = 1;

// Server → client.
inline constexpr uint8_t kWelcome = 0x01;       // 16 bytes
inline constexpr uint8_t kSnapshot = 0x02;      // 8 + 16·count bytes
inline constexpr uint8_t kPlayerJoined = 0x03;  // 8 + name_len bytes
inline constexpr uint8_t kPlayerLeft = 0x04;    // 8 bytes
// Client → server.
inline constexpr uint8_t kInputKeys = 0x10;     // 2 bytes
inline constexpr uint8_t kInputTarget = 0x11;   // 12 bytes

inline constexpr size_t kWelcomeSize = 16;
inline constexpr size_t kSnapshotHeaderSize = 8;
inline constexpr size_t kSnapshotRecordSize = 16;
inline constexpr size_t kPlayerJoinedHeaderSize = 8;
inline constexpr size_t kPlayerLeftSize = 8;
inline constexpr size_t kInputKeysSize = 2;
inline constexpr size_t kInputTargetSize = 12;

// INPUT_KEYS bits.
inline constexpr uint8_t kKeyUp = 1 << 0;     // −y
inline constexpr uint8_t kKeyDown = 1 << 1;   // +y
inline constexpr uint8_t kKeyLeft = 1 << 2;   // −x
inline constexpr uint8_t kKeyRight = 1 << 3;  // +x
inline constexpr uint8_t kKeyMask = 0x0f;

// SNAPSHOT record flags.
inline constexpr uint8_t kFlagMoving = 1 << 0;

inline constexpr float kWorldWidth = 1000.0f;
inline constexpr float kWorldHeight = 1000.0f;
inline constexpr float kSpeed = 240.0f;       // world units per second
inline constexpr unsigned kColours = 16;
inline constexpr size_t kMaxMatchName = 32;   // characters from A–Z a–z 0–9 _ -
inline constexpr size_t kMaxPlayerName = 24;  // bytes of UTF-8
inline constexpr unsigned kDefaultMaxPlayers = 64;
inline constexpr unsigned kDefaultMaxMatches = 256;  // open at once, per server (game_server.hpp)
inline constexpr unsigned kMaxInputsPerSecond = 60;

// ---- Little-endian fields ----

inline void put_u8(char* p, uint8_t v) noexcept { p[0] = static_cast<char>(v); }
inline void put_u16(char* p, uint16_t v) noexcept {
  p[0] = static_cast<char>(v & 0xff);
  p[1] = static_cast<char>(v >> 8);
}
inline void put_u32(char* p, uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void put_f32(char* p, float v) noexcept { put_u32(p, std::bit_cast<uint32_t>(v)); }

inline uint8_t get_u8(const char* p) noexcept { return static_cast<uint8_t>(p[0]); }
inline uint16_t get_u16(const char* p) noexcept {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
inline uint32_t get_u32(const char* p) noexcept {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline float get_f32(const char* p) noexcept { return std::bit_cast<float>(get_u32(p)); }

// ---- Server → client ----

// Appends a WELCOME: the first message a player receives.
inline void append_welcome(std::string& out, uint16_t tick_hz, uint32_t player_id) {
  char m[kWelcomeSize];
  put_u8(m, kWelcome);
  put_u8(m + 1, kVersion);
  put_u16(m + 2, tick_hz);
  put_u32(m + 4, player_id);
  put_f32(m + 8, kWorldWidth);
  put_f32(m + 12, kWorldHeight);
  out.append(m, sizeof m);
}

// Appends a PLAYER_JOINED. `name` is a valid player name (1–24 bytes).
inline void append_player_joined(std::string& out, uint32_t player_id, uint8_t colour, std::string_view name) {
  char m[kPlayerJoinedHeaderSize];
  put_u8(m, kPlayerJoined);
  put_u8(m + 1, colour);
  put_u8(m + 2, static_cast<uint8_t>(name.size()));
  put_u8(m + 3, 0);
  put_u32(m + 4, player_id);
  out.append(m, sizeof m);
  out.append(name);
}

inline void append_player_left(std::string& out, uint32_t player_id) {
  char m[kPlayerLeftSize] = {};
  put_u8(m, kPlayerLeft);
  put_u32(m + 4, player_id);
  out.append(m, sizeof m);
}

// The size of the server message at the front of `bytes` (several can be concatenated), or 0 when
// `bytes` does not start with a whole one.
inline size_t server_message_size(std::string_view bytes) noexcept {
  if (bytes.empty()) return 0;
  size_t n = 0;
  switch (get_u8(bytes.data())) {
    case kWelcome:
      n = kWelcomeSize;
      break;
    case kSnapshot:
      if (bytes.size() < kSnapshotHeaderSize) return 0;
      n = kSnapshotHeaderSize + kSnapshotRecordSize * get_u16(bytes.data() + 2);
      break;
    case kPlayerJoined:
      if (bytes.size() < kPlayerJoinedHeaderSize) return 0;
      n = kPlayerJoinedHeaderSize + get_u8(bytes.data() + 2);
      break;
    case kPlayerLeft:
      n = kPlayerLeftSize;
      break;
    default:
      return 0;
  }
  return bytes.size() >= n ? n : 0;
}

// ---- Client → server ----

// One input message, decoded.
struct Input {
  enum class Kind : uint8_t { keys, target };
  Kind kind = Kind::keys;
  uint8_t keys = 0;  // kKey* bits (Kind::keys)
  float x = 0;       // the target, clamped to the world (Kind::target)
  float y = 0;
};

// Decodes an input message. nullopt when it is malformed — an unknown type, a wrong length, or a
// target that is not finite — which the protocol answers with close code 1008. Key bits other than
// the four directions are reserved and ignored.
inline std::optional<Input> parse_input(std::string_view m) noexcept {
  if (m.empty()) return std::nullopt;
  Input in;
  switch (get_u8(m.data())) {
    case kInputKeys:
      if (m.size() != kInputKeysSize) return std::nullopt;
      in.kind = Input::Kind::keys;
      in.keys = get_u8(m.data() + 1) & kKeyMask;
      return in;
    case kInputTarget: {
      if (m.size() != kInputTargetSize) return std::nullopt;
      const float x = get_f32(m.data() + 4);
      const float y = get_f32(m.data() + 8);
      if (!std::isfinite(x) || !std::isfinite(y)) return std::nullopt;
      in.kind = Input::Kind::target;
      in.x = std::fmin(std::fmax(x, 0.0f), kWorldWidth);
      in.y = std::fmin(std::fmax(y, 0.0f), kWorldHeight);
      return in;
    }
    default:
      return std::nullopt;
  }
}

// ---- Names ----

// A match name: 1–32 characters from A–Z a–z 0–9 _ -.
inline bool valid_match_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxMatchName) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A player name, already percent-decoded: 1–24 bytes of valid UTF-8, shown as they are — the chat's
// rule for room names (ringcast/ws/codec/display_name.hpp): no control character, line separator or
// bidirectional control.
inline bool valid_player_name(std::string_view s) noexcept {
  return s.size() <= kMaxPlayerName && valid_display_name(s, kMaxPlayerName);
}

// The heading of a movement (dx, dy) as the protocol sends it: round(atan2(dy, dx) · 65536 / 2π)
// mod 65536, so 0 points to +x and 16384 to +y (down the screen).
inline uint16_t heading_of(float dx, float dy) noexcept {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const long turns = std::lround(std::atan2(static_cast<double>(dy), static_cast<double>(dx)) * 65536.0 / kTwoPi);
  return static_cast<uint16_t>(((turns % 65536) + 65536) % 65536);
}

}  // namespace ringcast::game
