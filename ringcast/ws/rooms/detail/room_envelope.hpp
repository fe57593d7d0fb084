#pragma once
// RoomEnvelope: one message on a room partition's channel in Redis (see redis_scripts.hpp for the
// forms), parsed in place: the views point into the bytes given. Anything else on the channel — bytes
// from something that is not a ringcast node, a truncated message — parses to nullopt and is counted
// by the caller as malformed, never delivered.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <ringcast/ws/codec/opcode.hpp>

namespace ringcast {

struct RoomEnvelope {
  enum class Kind : char { durable = 'M', presence = 'P', live = 'L' };

  Kind kind = Kind::live;
  std::string_view room;
  std::string_view payload;  // the message; presence: the user
  uint64_t epoch = 0;        // durable
  uint64_t offset = 0;       // durable
  uint64_t term = 0;         // durable: the config epoch of the Redis primary that appended it
  uint64_t node = 0;         // live: the node that published it
  uint64_t seq = 0;          // live: its number among that node's messages on this channel (1, 2, …)
  OpCode op = OpCode::text;  // durable, live
  bool joined = false;       // presence

  static std::optional<RoomEnvelope> parse(std::string_view in) noexcept {
    if (in.empty()) return std::nullopt;
    RoomEnvelope e;
    e.kind = static_cast<Kind>(in[0]);
    in.remove_prefix(1);
    uint64_t op = 0;
    switch (e.kind) {
      case Kind::durable:
        if (!number(in, e.epoch) || !number(in, e.offset) || !number(in, e.term) || !number(in, op) || e.offset == 0) {
          return std::nullopt;
        }
        break;
      case Kind::presence: {
        uint64_t joined = 0;
        if (!number(in, joined) || joined > 1) return std::nullopt;
        e.joined = joined == 1;
        break;
      }
      case Kind::live:
        if (!number(in, e.node) || !number(in, e.seq) || !number(in, op) || e.seq == 0) return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
    if (e.kind != Kind::presence) {
      if (op != static_cast<uint64_t>(OpCode::text) && op != static_cast<uint64_t>(OpCode::binary)) return std::nullopt;
      e.op = static_cast<OpCode>(op);
    }
    uint64_t room_size = 0;
    if (!number(in, room_size) || room_size == 0 || room_size > in.size()) return std::nullopt;
    e.room = in.substr(0, room_size);
    e.payload = in.substr(room_size);
    return e;
  }

  // "L<node>:<seq>:<op>:<room length>:<room><message>": a live room's message, as the node publishes it.
  static void write_live(std::string& out, uint64_t node, uint64_t seq, OpCode op, std::string_view room,
                         std::string_view message) {
    char head[96];
    char* p = head;
    *p++ = static_cast<char>(Kind::live);
    p = std::to_chars(p, head + sizeof head, node).ptr;
    *p++ = ':';
    p = std::to_chars(p, head + sizeof head, seq).ptr;
    *p++ = ':';
    p = std::to_chars(p, head + sizeof head, static_cast<unsigned>(op)).ptr;
    *p++ = ':';
    p = std::to_chars(p, head + sizeof head, room.size()).ptr;
    *p++ = ':';
    out.append(head, p);
    out.append(room);
    out.append(message);
  }

 private:
  // A decimal number followed by ':', consumed from the front of `in`.
  static bool number(std::string_view& in, uint64_t& out) noexcept {
    auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
    if (ec != std::errc() || end == in.data() || end == in.data() + in.size() || *end != ':') return false;
    in.remove_prefix(static_cast<size_t>(end - in.data()) + 1);
    return true;
  }
};

}  // namespace ringcast
