#pragma once
// Rooms: publish/subscribe across shards, without a lock. One Rooms object per shard; together they
// form a RoomNetwork.
//
// Membership: each shard keeps `room → its own members`. When a room gains its first member on a
// shard, or loses its last, that shard tells every other shard over the mesh, so every shard knows
// which shards to forward a publish to (a bit per shard). Joining takes effect for publishers on other
// shards once that notice has reached them.
//
// Publishing: the WebSocket frame is encoded once (and, for members that agreed to permessage-deflate,
// compressed once more) into an immutable shared buffer. Each other shard
// with members gets one reference (one atomic operation per shard hop, none per member) and fans the
// frame out to its own members: a frame up to kArenaLimit bytes is copied once into the room's frame
// arena on that shard, right behind the room's previous frame, and every member's output queue
// references it — extending the member's last segment when that ends where the frame starts, so the
// frames a member gets in one loop iteration are one segment, with no copy and no count per member.
// Larger frames are queued by reference to the publication itself. Both are counted without atomics
// (shard-local). All frames pending for a connection leave in one send at the end of the loop
// iteration, however many there are. Order: messages from one publisher to one room reach every member
// in publish order (the mesh is FIFO per pair of shards).
//
// Sequenced rooms: publish_sequenced() sends the message to the room's home shard (a hash of its
// name), which numbers it (1, 2, 3, … per room), optionally rewrites it with that number (the room's
// stamp function), and publishes it from there — so every member everywhere sees one order, no gap,
// no duplicate.
//
// Durable rooms (RoomKind::durable, see room_options.hpp): every publish goes to the room's home shard,
// which numbers it, keeps it in the room's history and publishes it from there (DurableRooms). A socket
// joins with subscribe(ws, room, SubscribeOptions): it is a pending member — its shard counts it, so
// publications reach the shard, but fan-out skips it — until the home answers with its replay
// (activate), after which it gets every later publication: no gap, no duplicate. A replay longer than
// half the socket's max_backpressure comes in parts, the next asked for when the last has left, so a
// recovery from far back neither passes the socket's budget nor waits on it.
//
// Several nodes: with a broker (ringcast/ws/rooms/detail/redis_rooms.hpp) each room's home shard also
// subscribes to the room's channel in Redis while this node has members; a live room's publishes go to
// the other nodes as well, and what they publish is delivered here like a local publish; a durable
// room's log is kept in Redis, one for every node (see DurableRooms).
//
// Slow consumers: a member whose queued bytes and the frame would pass its route's max_backpressure is
// closed with 1008 (SlowConsumer::close, the default) or skipped and counted (SlowConsumer::skip), so
// no member ever holds more than its budget of publications. A compressed frame of a large publication
// is queued from a copy of its own, not by reference to the whole publication. Control frames are never
// dropped, and memory stays bounded whatever a client does.
//
// Outcomes: each shard counts what its fan-out of a room's message made of it (queued, skipped, closed)
// in the room's state there, and report() sums a room's counts over the shards (RoomReport). A publish
// with an on_done is tallied: every shard it was handed to answers the shard that fanned it out with its
// counts, and the outcome goes back to the publishing shard (PublishOutcome; publish_outcome.hpp says
// what ringcast guarantees a publisher). Publishes without one send nothing back.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/shard.hpp>
#include <ringcast/core/shared_buffer.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/deflate/detail/deflater.hpp>
#include <ringcast/ws/rooms/position.hpp>
#include <ringcast/ws/rooms/publish_outcome.hpp>
#include <ringcast/ws/rooms/room_options.hpp>
#include <ringcast/ws/rooms/room_report.hpp>
#include <ringcast/ws/web_socket.hpp>

namespace ringcast {

class RedisRooms;
class DurableRooms;
struct DurableStats;
class Loop;
class RoomNetwork;
struct RoomEntry;  // one room on one shard (rooms.cpp)
struct PublishRequest;  // a publish with an on_done (detail/publish_request.hpp)

struct RoomStats {
  Counter rooms;            // rooms this shard knows of
  Counter subscriptions;    // local memberships
  Counter published;        // publishes started here
  Counter forwarded;        // frames handed to other shards
  Counter deliveries;       // frames queued to local members
  Counter skipped_slow;     // deliveries skipped: frame would pass max_backpressure (SlowConsumer::skip)
  Counter closed_slow;      // members closed for being too slow (SlowConsumer::close)
  Counter replayed;         // durable rooms: messages sent to joining members before their live stream
  Counter recovered;        // durable rooms: joins from a position that got everything they missed
  Counter not_recovered;    // durable rooms: joins from a position the history no longer held
};

class Rooms {
 public:
  // Frames up to this size go through the room's frame arena; larger ones are shared by reference.
  static constexpr size_t kArenaLimit = 2048;

  Rooms(RoomNetwork& network, Shard& shard, Loop& loop);
  ~Rooms();
  Rooms(const Rooms&) = delete;
  Rooms& operator=(const Rooms&) = delete;

  // ---- This shard's thread only ----
  // Adds `ws` (a WebSocket of this shard) to `room`; false when it already was a member. A durable
  // room: as below with the default options (no replay).
  bool subscribe(WebSocketBase& ws, std::string_view room);
  // A durable room: joins as a pending member and asks the home shard for the replay `options` ask for;
  // the socket's context hears of it (on_subscribed) when its live stream starts. Other rooms: as above.
  bool subscribe(WebSocketBase& ws, std::string_view room, const SubscribeOptions& options);
  bool unsubscribe(WebSocketBase& ws, std::string_view room);
  void unsubscribe_all(WebSocketBase& ws);
  bool is_subscribed(const WebSocketBase& ws, std::string_view room) const;

  // Publishes to every member of `room` on every shard (except `exclude`, a local member). A durable
  // room's message goes through its home shard and reaches every member, `exclude` too. True: the
  // message is on its way, and `on_done`, when given, runs once with what became of it (see
  // publish_outcome.hpp for when, and for what ringcast guarantees). False: nothing was sent, nothing
  // counted, and on_done will not run — the room's name is not one a room can have (valid_room_name)
  // or the message is longer than kMaxMessage.
  bool publish(std::string_view room, std::string_view message, OpCode op, const WebSocketBase* exclude = nullptr,
               PublishDone on_done = {});
  // Publishes through the room's home shard, in one order for every member (see above); the outcome's
  // position.offset is the message's number. Returns as publish does.
  bool publish_sequenced(std::string_view room, std::string_view message, OpCode op, PublishDone on_done = {});

  // A room's name is 1 to kMaxRoomName bytes (it travels in a publication's header and, with a broker,
  // in every channel message). Sockets cannot join, nor messages go to, a room with another name.
  static constexpr size_t kMaxRoomName = 65535;
  static constexpr bool valid_room_name(std::string_view room) noexcept {
    return !room.empty() && room.size() <= kMaxRoomName;
  }
  // A publication's frames are sized in 32 bits.
  static constexpr size_t kMaxMessage = (size_t{1} << 32) - 1 - 14;

  // What became of `room`'s messages on this shard (RoomReport; zeros for a room this shard does not
  // know).
  RoomReport local_report(std::string_view room) const;
  // The same summed over every shard of the node: `done` runs on this shard once every shard has
  // answered (later in this loop iteration at the earliest).
  void report(std::string_view room, std::function<void(const RoomReport&)> done);

  // Members of `room` on this shard, and the shards (this one included) that have members.
  size_t local_members(std::string_view room) const;
  unsigned shards_with_members(std::string_view room) const;
  // The room's home shard (RoomNetwork::home_of).
  unsigned home_of(std::string_view room) const noexcept;

  const RoomStats& stats() const noexcept { return stats_; }
  RoomNetwork& network() noexcept { return network_; }

  // Connects this shard's rooms to other nodes (before the shard serves); null: this node alone.
  void attach_broker(std::unique_ptr<RedisRooms> broker, uint64_t node);
  RedisRooms* broker() const noexcept { return broker_.get(); }
  // The durable rooms whose home is this shard.
  DurableRooms& durable() noexcept { return *durable_; }
  const DurableStats& durable_stats() const noexcept;

  // ---- For DurableRooms ----
  // The home's answer to a pending member's catch-up (on the member's shard): makes it a member, tells
  // its context (on_subscribed), then queues `replay` (frames, may be null) to it. Stale tokens (the
  // socket left or closed meanwhile) are dropped. With `more` (the offset of the last message in
  // `replay`), the replay goes on in another part: the socket stays pending, its context is told (the
  // first time), and the next part is asked for once its output has drained (drained()), so that a long
  // replay never holds more than half the socket's max_backpressure at once.
  void activate(std::string_view room, uint64_t token, const SubscribeResult& result, SharedBufferRef replay,
                std::optional<uint64_t> more = std::nullopt);
  // The output of `ws` drained (its context's on_drain): the next parts of its replays are asked for.
  void drained(WebSocketBase& ws);
  // Publishes a durable room's message from its home shard (already numbered and stamped); `request`
  // (may be null) is tallied and answered.
  void publish_from_home(std::string_view room, std::string_view message, OpCode op,
                         std::unique_ptr<PublishRequest> request = nullptr);
  // Sends a publish's outcome to its publisher's shard, where on_done runs (later, never inside this).
  void finish(std::unique_ptr<PublishRequest> request);
  // The log did not take a message of `room` (or its answer was lost): counted in the room's report.
  void count_append_failed(std::string_view room);
  // A durable room's stream broke beyond repair: every member on every shard hears it (on_subscribed,
  // recovered = false) before the messages after the break.
  void broken(std::string_view room, const SubscribeResult& result);

 private:
  friend class RoomNetwork;
  friend class RedisRooms;
  using Room = RoomEntry;

  Room* find(std::string_view name) const;
  Room& find_or_add(std::string_view name);
  // Asks the room's home for (a part of) the replay of pending member `token` (DurableRooms::catch_up).
  void catch_up(const WebSocketBase& ws, std::string_view room, uint64_t token, std::optional<Position> since,
                uint32_t tail, std::string_view presence);
  void maybe_erase(Room& room);
  void announce(const Room& room, bool joined);
  void on_remote_membership(std::string_view name, unsigned shard, bool joined);
  // What one shard's fan-out of one message made of it.
  struct FanOut {
    uint32_t shards = 0;  // 1: the room had members here
    uint32_t deliveries = 0;
    uint32_t skipped_slow = 0;
    uint32_t closed_slow = 0;
  };
  FanOut fan_out(Room& room, SharedBuffer& publication, const WebSocketBase* exclude);
  // Copies `frame` into the room's open arena (opening one when it does not fit) and returns it there.
  const uint8_t* place(Room& room, std::span<const uint8_t> frame);
  // Ends this iteration's arenas: later frames start new ones (deferred once per iteration).
  void close_arenas() noexcept;
  // Hands the publication to every other shard with members; with a tally (id not 0), each answers
  // this shard with its FanOut.
  void forward(Room& room, SharedBuffer& publication, uint64_t tally);
  void tallied(uint64_t tally, const FanOut& counts);
  // Another shard's answer to report(): summed, and the gather ends with the last.
  void reported(uint64_t id, const RoomReport& report);
  void sequence(std::string_view name, std::string_view message, OpCode op, std::unique_ptr<PublishRequest> request);
  // Runs `call` with (room, message, op, request) on the room's home shard: now when that is this one,
  // else with a copy of the message sent there.
  using HomeCall = void (*)(Rooms& home, std::string_view room, std::string_view message, OpCode op,
                            std::unique_ptr<PublishRequest> request);
  void at_home(std::string_view name, std::string_view message, OpCode op, HomeCall call,
               std::unique_ptr<PublishRequest> request = nullptr);
  // Publishes a validated message: through the home for a durable room, from here for a live one.
  void route(std::string_view name, std::string_view message, OpCode op, const WebSocketBase* exclude,
             std::unique_ptr<PublishRequest> request);
  void remove_member(Room& room, uint32_t index);
  // A live room's member from now on.
  bool join_live(WebSocketBase& ws, std::string_view room);
  void remove_subscription(WebSocketBase& ws, uint32_t k);
  void tell_broken(std::string_view room, const SubscribeResult& result);
  bool has_members(const Room& room) const noexcept;
  // Where a message whose fan-out starts here comes from: a publisher on this shard (a live room's
  // message, also sent to the broker when there is one), the room's home (sequenced and durable rooms),
  // or another node (through the broker).
  enum class Source : uint8_t { publisher, home, broker };
  void publish_here(std::string_view room, std::string_view message, OpCode op, const WebSocketBase* exclude,
                    Source source, std::unique_ptr<PublishRequest> request);
  void to_broker(std::string_view room, SharedBuffer& publication, OpCode op);
  // A message another node published, from this shard's subscription (the room's home shard).
  void deliver_from_broker(std::string_view room, std::string_view message, OpCode op);

  RoomNetwork& network_;
  Shard& shard_;   // used on the shard's thread only; gone before ~Rooms
  Loop& loop_;
  const unsigned id_;
  RoomNameMap<std::unique_ptr<Room>> rooms_;
  RoomNameMap<uint64_t> sequences_;  // home shard: the last number given, per room
  std::vector<Room*> open_arenas_;    // rooms with an open frame arena this iteration
  std::unique_ptr<SharedDeflater> deflater_;  // created on the first compressed publish
  std::string deflate_scratch_;
  uint64_t next_token_ = 0;           // names pending memberships of durable rooms
  uint64_t next_id_ = 0;              // names tallies and report gathers
  // Publishes with an on_done that this shard fanned out, waiting for the other shards' counts; and
  // report() calls waiting for the other shards' reports. Each lives until its last answer (or ~Rooms,
  // when the app stopped first): as many as there are such calls in flight.
  std::unordered_map<uint64_t, std::unique_ptr<PublishRequest>> tallies_;
  struct ReportGather;
  std::unordered_map<uint64_t, std::unique_ptr<ReportGather>> reports_;
  RoomStats stats_;
  std::unique_ptr<DurableRooms> durable_;
  std::unique_ptr<RedisRooms> broker_;  // last: it may call back into the rooms while it stops
};

// Every shard's Rooms, and the options of named rooms. Owned by the App; shards reach each other's
// Rooms only through tasks on the mesh.
class RoomNetwork {
 public:
  explicit RoomNetwork(unsigned shards) : rooms_(shards, nullptr) {}

  // Options for one room (before the app starts); other rooms use `defaults`.
  void set_options(std::string name, RoomOptions options) { options_[std::move(name)] = std::move(options); }
  RoomOptions defaults;
  const RoomOptions& options(std::string_view room) const;
  // How publications are compressed for members that agreed to permessage-deflate (off: never).
  DeflateOptions compression = DeflateOptions{.enabled = false};
  // Bytes of durable-room history each shard keeps before it forgets the least recently used rooms.
  size_t durable_memory = 64u << 20;
  // Rooms are spread over this many partitions (room_partition.hpp): a room's home shard is its
  // partition modulo the shards, and with a broker each partition is one channel in Redis. Every node
  // of a cluster must use the same number.
  unsigned partitions = 128;

  // The shard that sequences `room`, speaks for it on the broker and takes the App's publishes from
  // other threads: its partition modulo the shards. Any thread.
  unsigned home_of(std::string_view room) const noexcept;

  Rooms* on(unsigned shard) const noexcept { return rooms_[shard]; }
  void attach(unsigned shard, Rooms* rooms) noexcept { rooms_[shard] = rooms; }
  unsigned shards() const noexcept { return static_cast<unsigned>(rooms_.size()); }

 private:
  std::vector<Rooms*> rooms_;
  RoomNameMap<RoomOptions> options_;
};

}  // namespace ringcast
