#pragma once
// ChatScenario: the ringcast chat protocol end to end (apps/chat/README.md). Each connection logs in
// (POST /login) on its server, opens /ws?otp=TOKEN&room=R with the one-time token and is in room
// R = load-r(i % rooms); the first --publishers connections send send_message events with a window
// of their own messages outstanding, as fast as it allows or at --rate (Pacers: what is due, every 1 ms).
//
// What it checks is the room's one order. Every member's stream of positions (the seq of each
// new_message, within the epoch of its room_changed) must go up by one: a position twice is a
// duplicate, a skipped one is lost unless the member was told (a room_changed with recovered: false
// counts what it skips as not recovered). The message at a position must be the same for every member
// (RoomOrder, a hash of from and message), and each publisher's messages must come in its order.
//
// A connection that drops logs in again on the next server and reopens with its last position
// (&epoch=E&seq=N): recovered: true must fill the gap exactly, and the time from the drop to that
// room_changed is its recovery time. A publisher's messages still out when its connection dropped
// are unconfirmed (they may or may not be in the room), not lost; one never back after
// --confirm-timeout on a live connection is lost. One the server answers not_sent was refused (the
// publisher was told; no member expects it) or, maybe: true, is unconfirmed unless it comes after all
// (then it is checked like any other); either frees its slot of the window.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/load/driver.hpp"
#include "bench/load/http_exchange.hpp"
#include "bench/load/pacers.hpp"
#include "bench/load/room_order.hpp"

namespace ringcast::load {

class ChatScenario final : public Scenario {
 public:
  ChatScenario();
  ~ChatScenario() override;  // where LoginRetry is complete
  std::string name() const override { return "chat"; }
  std::string path(const LoadOptions&, uint32_t) const override { return "/ws"; }
  void attach(Driver& d) override;
  void connect(Worker& w, uint32_t i) override;
  bool ready(Worker& w) override;
  void opened(Worker&, Socket& ws) override { members_[ws.data().index].opened = true; }
  void message(Worker& w, Socket& ws, std::string_view m, OpCode op) override;
  void dropped(Worker& w, uint32_t i) override;
  void tick(Worker& w) override;
  void begin(Worker& w) override;
  void end(Worker& w) override;
  bool drained(Worker& w) override;
  void finish(Totals& t) override;

 private:
  struct Member {  // its worker only
    bool opened = false;  // a connection that never opened is counted as failed, not as losing messages
    bool joined = false;  // room_changed seen for its room
    uint64_t epoch = 0, seq = 0;  // the last position it has (epoch 0: none yet)
    uint64_t replay_left = 0;     // messages of its last room_changed still to come (no latency for them)
    std::vector<std::pair<uint32_t, uint64_t>> highest;  // per publisher of its room: the highest number seen
    StreamCounts counts;
  };
  struct Publisher {  // its worker only
    uint64_t floor = 0;     // numbers up to here were given up on (connection dropped, or timed out)
    unsigned outstanding = 0;  // sent above the floor, not back yet
    Excused doubt, timed_out;  // given up on a drop; given up after --confirm-timeout on a live connection
    uint64_t doubt_back = 0, timed_out_back = 0;  // of those, seen in the room after all
    std::vector<uint64_t> answered;  // above the floor, answered not_sent (no longer outstanding)
    Excused unsure;                  // answered not_sent with maybe: true
    uint64_t unsure_back = 0;        // of those, seen in the room after all
    uint64_t refused = 0;            // answered not_sent with maybe: false
    bool told_gap = false;  // it was told recovered: false (its own missing messages are not known lost)
    int64_t progress_ns = 0;   // when it last sent with nothing out, or got one back
    int64_t started_ns = 0;    // --rate: when it started (what it owes is counted from here)
  };
  // The latest position any member has seen in the room's current epoch (the last one a room_changed
  // announced: a new epoch starts the numbering over). Shared by the workers; a lock per message costs
  // nothing beside parsing its JSON.
  class Room {
   public:
    void changed(uint64_t epoch, uint64_t seq);   // a room_changed
    void reached(uint64_t epoch, uint64_t seq);   // a new_message
    uint64_t behind(uint64_t epoch, uint64_t seq) const;  // positions a member at (epoch, seq) has yet to get

   private:
    mutable std::mutex lock_;
    uint64_t epoch_ = 0, last_ = 0;
  };
  struct RoomChanged {
    uint64_t epoch = 0, seq = 0, replayed = 0;
    bool recovered = false;
  };
  void room_changed(Worker& w, uint32_t me, const RoomChanged& r);
  void new_message(Worker& w, uint32_t me, uint64_t seq, std::string_view from, std::string_view text);
  void not_sent(Worker& w, uint32_t me, std::string_view text, bool maybe);
  // This run's message text "run:p:n:sent_ns" (run in hex): false for others (earlier runs, people).
  bool own_message(std::string_view text, uint32_t& p, uint64_t& n, int64_t& sent_ns) const;
  void publish(Worker& w, uint32_t p);
  void top_up(Worker& w, uint32_t p);
  void pump(Worker& w);  // paced: top up every publisher of w to what it owes by now
  void give_up(Publisher& pub, uint64_t sent, bool dropped);
  uint32_t room_index(uint32_t i) const noexcept { return i % rooms_; }
  std::string room_of(uint32_t i) const { return "load-r" + std::to_string(i % rooms_); }
  // A login answered 429 or 503 ("try again later") is tried again a second later, as a client
  // should: a server lets only so many logins of one address run at once.
  void retry_login(Worker& w, uint32_t i);
  static constexpr uint8_t kLoginAttempts = 60;
  struct LoginRetry;

  std::vector<std::unique_ptr<HttpExchange>> logins_;  // one per worker
  std::vector<std::unique_ptr<LoginRetry>> retries_;   // one per worker
  std::vector<uint8_t> login_attempts_;                // per connection
  std::vector<Member> members_;
  std::vector<Publisher> pubs_;
  std::unique_ptr<std::atomic<uint64_t>[]> sent_;      // per publisher
  std::unique_ptr<Room[]> rooms_state_;
  std::unique_ptr<RoomOrder> order_;
  std::vector<ResumeCounts> resume_;                   // per worker
  std::vector<uint8_t> stopped_;
  Pacers pacers_;
  uint32_t rooms_ = 1, publishers_ = 0;
  unsigned window_ = 16;
  double rate_ = 0;  // messages/s per publisher (0: as fast as the window allows)
  uint32_t run_ = 0;  // tags this run's messages
};

}  // namespace ringcast::load
