#pragma once
// The load scenarios of ringcast-load.
//   echo       every connection sends a message and waits for it back (or keeps --inflight in flight),
//              or with --rate sends that many a second (still at most --inflight in flight); every
//              byte of every echo is checked
//   broadcast  the bench protocol: connection i joins room r(i % rooms) at /room/NAME, where every
//              message a member sends goes to every member, sender included; the first --publishers
//              connections publish, each keeping --window of its own messages outstanding or at --rate;
//              every receiver checks every publisher's numbering (loss, duplicates, order), and with
//              --one-order that every member of a room sees one sequence; a receiver that dropped comes
//              back on the next server, and what it missed meanwhile is not recovered
//   connect    a connection storm: handshakes per second and the time to open them all
//   idle       hold the connections for --duration; with --server-pid, the server's memory per connection
//   chat       the ringcast chat protocol end to end, each room's one order checked (chat_scenario.hpp)
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/load/driver.hpp"
#include "bench/load/pacers.hpp"
#include "bench/load/room_order.hpp"

namespace ringcast::load {

std::unique_ptr<Scenario> make_scenario(const std::string& name);  // nullptr: unknown name

class EchoScenario final : public Scenario {
 public:
  std::string name() const override { return "echo"; }
  std::string path(const LoadOptions& o, uint32_t) const override { return o.path.empty() ? "/echo" : o.path; }
  void attach(Driver& d) override;
  void message(Worker& w, Socket& ws, std::string_view m, OpCode op) override;
  void begin(Worker& w) override;
  void end(Worker& w) override;
  bool drained(Worker& w) override;
  void finish(Totals& t) override;

 private:
  struct Conn {
    uint64_t next_seq = 1;      // the next message to send
    uint64_t expected = 1;      // the next echo expected
    int64_t started_ns = 0;     // paced: when its rate started
    std::vector<int64_t> sent_at;  // send time by seq % inflight
  };
  void send(Worker& w, Socket& ws, Conn& c);
  void pump(Worker& w);  // paced: send what is due, at most --inflight in flight
  std::vector<Conn> conns_;
  std::vector<uint8_t> stopped_;  // per worker
  Pacers pacers_;
  size_t size_ = 32;
  double rate_ = 0;
  OpCode op_ = OpCode::binary;
};

class BroadcastScenario final : public Scenario {
 public:
  std::string name() const override { return "broadcast"; }
  // Never: a client thread receives every member's copy of what it sends, so it is the side short of
  // CPU, and its yields would hand the server slices too short to batch in (more server CPU per
  // delivery, fewer deliveries, a longer tail).
  int64_t yield_us() const override { return 0; }
  std::string path(const LoadOptions& o, uint32_t i) const override;
  void attach(Driver& d) override;
  void opened(Worker& w, Socket& ws) override;
  void message(Worker& w, Socket& ws, std::string_view m, OpCode op) override;
  void dropped(Worker& w, uint32_t i) override;
  void tick(Worker& w) override;
  void begin(Worker& w) override;
  void end(Worker& w) override;
  bool drained(Worker& w) override;
  void finish(Totals& t) override;

 private:
  struct Publisher {
    std::atomic<uint64_t> sent{0};
    uint64_t own_received = 0;  // its own messages back (its worker only)
    int64_t started_ns = 0;
    // Reconnects (its worker writes; receivers read `doubt` under the lock): numbers up to `floor`
    // were given up on — sent on a connection that dropped before they came back (`doubt`: not
    // lost if they never arrive), or unconfirmed for --confirm-timeout on a live one (lost if never
    // seen); receivers expect everything up to `settled`.
    std::mutex lock;
    Excused doubt;
    uint64_t floor = 0, given_up = 0;
    std::atomic<uint64_t> settled{0};
    int64_t progress_ns = 0;
    uint64_t outstanding() const noexcept { return sent.load(std::memory_order_relaxed) - own_received - given_up; }
    void give_up(bool in_doubt);  // on its worker
  };
  struct Receiver {
    bool opened = false;  // a connection that never opened is counted as failed, not as losing messages
    uint64_t previous = 0;  // --one-order: the message it got before this one (0: none since it joined)
    std::vector<std::pair<uint32_t, StreamChecker>> streams;  // one per publisher of its room
  };
  bool publish(Worker& w, uint32_t p);  // false: nothing sent (no connection, or no budget left)
  void pump(Worker& w);                 // rate mode: send what is due
  void top_up(Worker& w, uint32_t p);   // window mode: keep its window full
  uint32_t room_of(uint32_t i) const noexcept { return i % rooms_; }

  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::vector<Receiver> receivers_;
  std::vector<uint8_t> stopped_;
  Pacers pacers_;
  std::unique_ptr<RoomOrder> order_;  // --one-order
  std::vector<ResumeCounts> resume_;  // per worker
  uint32_t rooms_ = 1;
  size_t size_ = 32;
  unsigned window_ = 16;
  double rate_ = 0;
};

class ConnectScenario final : public Scenario {
 public:
  std::string name() const override { return "connect"; }
  std::string path(const LoadOptions& o, uint32_t) const override { return o.path.empty() ? "/echo" : o.path; }
  bool sends() const override { return false; }
};

class IdleScenario final : public Scenario {
 public:
  std::string name() const override { return "idle"; }
  std::string path(const LoadOptions& o, uint32_t) const override { return o.path.empty() ? "/echo" : o.path; }
  bool sends() const override { return false; }
};

}  // namespace ringcast::load
