#pragma once
// DurableRooms: the home shard's side of the durable rooms (RoomKind::durable) whose home
// (Rooms::home_of) is this shard. One per shard, owned by its Rooms; everything here runs on that
// shard's thread.
//
// Publishing. Every message of a durable room is sent to its home shard. Alone (no broker), the home
// gives it the room's next offset, keeps it in the room's history and publishes it — stamped
// (RoomOptions::stamp) with its offset — to the members on every shard: one publisher per room, one
// order. With a broker the log is in Redis (DurableLog): the home appends there, and every node's home
// shard publishes the room's messages to its own members as they come back on the room's channel, in
// the log's order, gap-free: a message that comes after a gap waits until the missing ones are read
// from the log; if the log no longer has them (or started over with another epoch), the members are
// told their stream broke (on_subscribed with recovered = false) and it goes on from there. The history
// is then a mirror of the log's tail, so most joins need no round trip.
//
// Joining (catch_up). A socket that joins a durable room on shard S is a *pending* member there: S
// already counts as having members (so the home forwards publications to it) but skips the socket when
// fanning out. S asks the home for a catch-up; the home answers with the socket's replay — every
// message after `since` when it still has them all, else the latest `tail` — and the room's position,
// in one task to S (Rooms::activate). The mesh is FIFO per pair of shards, so publications the home made
// before answering reach S before the answer (the socket skips them: the replay holds them), and those
// made after it reach S after (the socket, now a member, gets them): no gap, no duplicate.
// A replay longer than the socket may hold (half its max_backpressure, CatchUp::max_bytes) is answered
// in parts: the socket stays pending, and once a part has left its output queue S asks again from the
// part's last offset (Rooms::drained) — the same catch-up, so the same guarantee — until an answer
// holds the rest.
//
// Presence. The home counts each room's sockets per user (SubscribeOptions::presence). Alone, it
// announces a user's first and last socket (RoomOptions::presence_message) itself; with a broker, a
// user's first and last socket *on this node* join and leave the room's presence in Redis, entries that
// expire unless refreshed (every kPresenceRefresh, for kPresenceTtl), and Redis announces the user's
// first and last anywhere on the room's channel, which every node's home passes on to its members. A
// node that dies stops counting within kPresenceTtl.
//
// Memory: each room keeps its latest RoomOptions::history_size messages. Alone, past
// RoomNetwork::durable_memory bytes on this shard, the least recently used rooms nobody is in are
// forgotten (a room forgotten and used again starts a new epoch). With a broker a room is forgotten
// as soon as this node has no member in it: Redis keeps its log.
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/rooms/detail/durable_log.hpp>
#include <ringcast/ws/rooms/detail/publish_request.hpp>
#include <ringcast/ws/rooms/detail/room_history.hpp>
#include <ringcast/ws/rooms/position.hpp>
#include <ringcast/ws/rooms/room_options.hpp>

namespace ringcast {

class Rooms;
class RoomNetwork;
class Shard;

struct DurableStats {
  Counter appended;       // messages appended (alone) or acknowledged by the log (broker)
  Counter append_failed;  // messages the log did not take (broker unreachable): lost, counted
  Counter gaps_filled;    // messages read from the log to fill a gap in the channel's stream
  Counter breaks;         // a room's stream broke beyond repair (log trimmed or started over)
  Counter read_failed;    // reads of the log that failed (retried)
  Counter stale;          // messages of a replaced Redis primary dropped (an older term than the room's)
};

class DurableRooms {
 public:
  static constexpr std::chrono::milliseconds kPresenceRefresh{3000};
  static constexpr std::chrono::milliseconds kPresenceTtl{10000};
  static constexpr std::chrono::milliseconds kRetry{500};
  static constexpr std::chrono::milliseconds kJoinEventWait{2000};
  // Channel messages held while a gap is read; past it they are dropped and read from the log too.
  static constexpr size_t kMaxHeld = 4096;

  // A pending member's request, from shard `from` to the room's home.
  struct CatchUp {
    std::string room;
    uint64_t token;  // names the pending membership on `from`
    unsigned from;
    std::optional<Position> since;
    uint32_t tail;
    std::string presence;  // the user the socket counts as ("": none)
    // Bytes of frames one answer may carry (0: no limit): a longer replay is answered in parts, each
    // asked for again from where the last ended (Rooms::activate, Rooms::drained).
    uint32_t max_bytes = 0;
  };

  DurableRooms(Rooms& rooms, RoomNetwork& network, Shard& shard);
  ~DurableRooms();
  DurableRooms(const DurableRooms&) = delete;
  DurableRooms& operator=(const DurableRooms&) = delete;

  // Keeps the logs in `log` (a broker's) instead of here; before the shard serves. `node` names this
  // node in presence entries.
  void attach_log(DurableLog* log, uint64_t node);

  // A publish of `room` reached its home (this shard). `request` (may be null) hears its outcome: alone,
  // once every shard has fanned it out, with its offset; with a broker, once the log has answered.
  void append(std::string_view room, std::string_view message, OpCode op, std::unique_ptr<PublishRequest> request);
  // A pending member asks for its replay; answered with Rooms::activate on its shard.
  void catch_up(std::unique_ptr<CatchUp> request);
  // A socket counted as `user` left the room (or closed).
  void leave(std::string_view room, std::string_view user);
  // This node has no member left in `room` (Rooms forgets it).
  void released(std::string_view room);

  // ---- From the DurableLog ----
  void on_ready(unsigned partition);
  void on_message(std::string_view room, Position position, uint64_t term, OpCode op, std::string_view message);
  void on_presence(std::string_view room, std::string_view user, bool joined);
  // The log's answer to append `request`: logged (at `position`, in `term`), refused, or unknown.
  void on_appended(uint64_t request, PublishStatus status, Position position, uint64_t term);
  void on_read(uint64_t request, bool ok, Position top, uint64_t top_term, std::span<const DurableLog::Entry> entries);
  void on_presence_reply(uint64_t request, bool ok, bool announced, std::span<const std::string_view> users);

  // The room's position here (epoch 0 when this shard keeps no log of it).
  Position position(std::string_view room) const;
  size_t rooms() const noexcept { return by_name_.size(); }
  size_t bytes() const noexcept { return bytes_; }
  const DurableStats& stats() const noexcept { return stats_; }

 private:
  // Alone the log is here (local). With a broker: waiting for the room's channel, reading the log's
  // position, live (delivering from the channel), or filling a gap from the log.
  enum class Sync : uint8_t { local, waiting, reading, live, filling };
  struct Held {
    Position position;
    uint64_t term;
    OpCode op;
    std::string message;
  };
  struct Join;

  struct Room {
    uint64_t epoch = 0;
    uint64_t top = 0;  // offset of the last message published to the members
    // With a broker: the newest term of the messages delivered (DurableLog::Entry::term). Terms never go
    // down along a log; a message of an older term comes from a replaced Redis primary's copy of it.
    uint64_t term = 0;
    RoomHistory history;
    std::map<std::string, uint32_t, std::less<>> members;  // presence: this node's sockets per user
    std::list<std::string>::iterator lru;                  // alone: place in lru_ (front: least recent)
    Sync sync = Sync::local;
    bool recheck = false;                // the channel came back while a read was out: read again after
    uint64_t read_request = 0;           // the position or gap read in flight
    std::vector<Held> held;              // channel messages waiting for a read
    std::vector<Join*> joins;            // joins waiting for the room to be live
  };

  // A join in progress: what it waits for (the room to be live, presence, a read of older messages).
  struct Join {
    uint64_t id = 0;
    std::unique_ptr<CatchUp> request;
    std::vector<std::string> members;
    std::vector<RoomHistory::Entry> older;  // read from the log: the messages after `since` it needs
    uint64_t older_epoch = 0;               // the log's epoch when they were read
    int waiting = 0;                        // replies (or events) still due
    // The user's join was announced on the room's channel: the answer waits until this node has passed
    // the announcement on (to the members, not to this socket, still pending), or kJoinEventWait.
    bool awaiting_event = false;
    bool event_seen = false;
    uint64_t since_ms = 0;
  };

  Room& room(std::string_view name, const RoomOptions& options);
  Room* find(std::string_view name) const;
  void touch(Room& room);
  void evict();
  uint64_t new_epoch() noexcept;
  bool clustered() const noexcept { return log_ != nullptr; }

  // Publishes the message at the next offset (local) or the offset the log gave it (broker).
  void deliver(std::string_view name, Room& room, const RoomOptions& options, uint64_t offset, uint64_t term,
               OpCode op, std::string_view message, std::unique_ptr<PublishRequest> request = nullptr);
  // Tells every member on every shard that the room's stream broke beyond repair.
  void broke(std::string_view name, Room& room);
  void apply(std::string_view name, Room& room, Position position, uint64_t term, OpCode op, std::string_view message);
  // Reads the room's position and tail (first time, or after the log started over) or the gap after
  // what was delivered.
  void start_read(std::string_view name, Room& room);
  void release_held(std::string_view name, Room& room);
  void announce(std::string_view name, const RoomOptions& options, std::string_view user, bool joined);

  void serve(std::string_view name, Room& room, Join& join);
  void finish(std::string_view name, Room& room, Join& join);
  // The frames of `entries`, stamped as members receive them, in one buffer (null when empty): as many
  // as fit in `max_bytes` (0: all; the first one always), their number in `count`.
  SharedBuffer* replay(std::string_view name, const RoomOptions& options,
                       std::span<const RoomHistory::Entry* const> entries, uint32_t max_bytes, size_t& count) const;
  std::string presence_entry(std::string_view user) const;
  void refresh_presence();
  static void on_tick(Timer& t);

  Rooms& rooms_;
  RoomNetwork& network_;
  Shard& shard_;
  DurableLog* log_ = nullptr;
  uint64_t node_ = 0;
  RoomNameMap<std::unique_ptr<Room>> by_name_;
  std::list<std::string> lru_;
  size_t bytes_ = 0;
  uint64_t random_;
  uint64_t next_request_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Join>> joins_;  // by id
  // Requests out to the log: request → (room, join id; 0 for the room's own read).
  std::unordered_map<uint64_t, std::pair<std::string, uint64_t>> reads_;
  std::unordered_map<uint64_t, std::pair<std::string, uint64_t>> presence_reads_;
  // Appends out to the log (with a broker): request → the room, and the publish's request if it has one.
  // As many as the log has not answered yet.
  struct Append {
    std::string room;
    std::unique_ptr<PublishRequest> request;
  };
  std::unordered_map<uint64_t, Append> appends_;
  struct Tick : Timer {
    explicit Tick(DurableRooms* d) noexcept : Timer(&on_tick), self(d) {}
    DurableRooms* self;
  } tick_{this};
  uint64_t last_refresh_ms_ = 0;
  DurableStats stats_;
};

}  // namespace ringcast
