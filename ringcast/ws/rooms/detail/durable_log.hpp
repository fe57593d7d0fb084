#pragma once
// DurableLog: what the durable rooms of a node need from the store that keeps their logs for every node
// (Redis: see RedisRooms). One per shard; DurableRooms uses it on the shard's thread, and it answers by
// calling DurableRooms back on that thread (on_ready, on_message, on_presence, on_appended, on_read,
// on_presence_reply). Nothing blocks: every request is answered later, or failed.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/rooms/position.hpp>
#include <ringcast/ws/rooms/publish_outcome.hpp>

namespace ringcast {

class DurableLog {
 public:
  // One message of a room's log, as read.
  struct Entry {
    uint64_t offset;
    uint64_t term;  // the config epoch of the Redis primary that appended it (0: none known)
    OpCode op;
    std::string_view message;
  };
  enum class PresenceOp : uint8_t { join, leave, refresh, list };

  virtual ~DurableLog() = default;

  // Rooms share channels (a bounded number of partitions); a room's messages and presence events come
  // on its partition's channel while the room is watched. Once the subscription is confirmed —
  // and again whenever it was lost and has been restored — DurableRooms::on_ready(partition) is called:
  // what came meanwhile must be read from the log.
  virtual unsigned partition_of(std::string_view room) const noexcept = 0;
  virtual void watch(std::string_view room) = 0;
  virtual void unwatch(std::string_view room) = 0;
  virtual bool ready(unsigned partition) const noexcept = 0;

  // Appends a message; it comes back on the channel with its position and term (on every node). `known`
  // is the last position this node has seen of the room (epoch 0: none), `term` the newest term: a log
  // that no longer reaches `known` lost messages, and starts over with `new_epoch`, as does a room
  // without a log; a store node of an older term in that log (a replaced primary) refuses it. Answered by
  // on_appended(request, ...): logged with the message's position and term, refused (it is not in the
  // log), or unknown (the answer was lost: it may be).
  virtual void append(std::string_view room, std::string_view message, OpCode op, Position known, uint64_t term,
                      uint64_t new_epoch, uint64_t request) = 0;
  // Reads the room's position, the term of its last message and its messages after `after` (or its
  // latest, without one), at most `count`; a room without a log gets one, starting at `new_epoch`. A store
  // node of an older term than `term` in log `epoch` refuses. Answered by on_read(request, ...).
  virtual void read(std::string_view room, std::optional<uint64_t> after, uint32_t count, uint64_t new_epoch,
                    uint64_t epoch, uint64_t term, uint64_t request) = 0;
  // Presence entries of this node ("<node>:<user>" for each user) join, leave or are refreshed; join and
  // list answer the room's users, and whether the join was announced on the room's channel (the user's
  // first anywhere) (on_presence_reply(request, ...)); leave and refresh answer nothing.
  virtual void presence(PresenceOp op, std::string_view room, std::span<const std::string> users,
                        uint64_t request) = 0;
};

}  // namespace ringcast
