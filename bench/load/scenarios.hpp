#pragma once
// The load scenarios of ringcast-load.
//   echo       every connection sends a message and waits for it back (or keeps --inflight in flight),
//              or with --rate sends that many a second (still at most --inflight in flight); every
//              byte of every echo is checked
//   broadcast  the bench protocol: connection i joins room r(i % rooms) at /room/NAME, where every
//              message a member sends goes to every member, sender included; the first --publishers
//              connections publish, each keeping --window of its own messages outstanding or at --rate;
//              every receiver checks every publisher's numbering (loss, duplicates, order)
//   connect    a connection storm: handshakes per second and the time to open them all
//   idle       hold the connections for --duration; with --server-pid, the server's memory per connection
//   chat       the ringcast chat protocol end to end: each connection logs in (POST /login), opens /ws
//              with its one-time token, joins room r(i % rooms) with change_room; the first --publishers
//              connections send send_message events (keeping --window outstanding, or at --rate), and
//              every receiver checks each publisher's order in the new_message events it gets
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/driver.hpp"
#include "bench/load/http_exchange.hpp"

namespace ringcast::load {

std::unique_ptr<Scenario> make_scenario(const std::string& name);  // nullptr: unknown name

// Paced sending (--rate): a 1 ms timer on each worker calls `pump`, which sends what is due by now,
// until the worker stops (`stopped`, by worker id, as the scenario keeps it).
class Pacers {
 public:
  Pacers();
  ~Pacers();
  void attach(unsigned workers);  // before the workers start
  void start(Worker& w, std::function<void(Worker&)> pump, const std::vector<uint8_t>& stopped);  // on w's thread
  void reset();  // after every worker stopped

 private:
  struct Pacer;
  std::vector<std::unique_ptr<Pacer>> pacers_;
};

// How many messages a stream paced at `rate` a second and started at `started_ns` owes by `now_ns`.
inline uint64_t due_by(int64_t now_ns, int64_t started_ns, double rate) noexcept {
  return static_cast<uint64_t>(static_cast<double>(now_ns - started_ns) * 1e-9 * rate);
}

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
  void begin(Worker& w) override;
  void end(Worker& w) override;
  bool drained(Worker& w) override;
  void finish(Totals& t) override;

 private:
  struct Publisher {
    std::atomic<uint64_t> sent{0};
    uint64_t own_received = 0;  // its own messages back (its worker only)
    int64_t started_ns = 0;
  };
  struct Receiver {
    bool opened = false;  // a connection that never opened is counted as failed, not as losing messages
    std::vector<std::pair<uint32_t, StreamChecker>> streams;  // one per publisher of its room
  };
  bool publish(Worker& w, uint32_t p);  // false: nothing sent (no connection, or no budget left)
  void pump(Worker& w);                 // rate mode: send what is due
  uint32_t room_of(uint32_t i) const noexcept { return i % rooms_; }

  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::vector<Receiver> receivers_;
  std::vector<uint8_t> stopped_;
  Pacers pacers_;
  uint32_t rooms_ = 1;
  size_t size_ = 32;
  unsigned window_ = 16;
  double rate_ = 0;
};

class ChatScenario final : public Scenario {
 public:
  std::string name() const override { return "chat"; }
  std::string path(const LoadOptions&, uint32_t) const override { return "/ws"; }
  void attach(Driver& d) override;
  void connect(Worker& w, uint32_t i) override;
  void opened(Worker& w, Socket& ws) override;
  bool ready(Worker& w) override;
  void message(Worker& w, Socket& ws, std::string_view m, OpCode op) override;
  void begin(Worker& w) override;
  void end(Worker& w) override;
  bool drained(Worker& w) override;
  void finish(Totals& t) override;

 private:
  struct Conn {
    bool opened = false;  // a connection that never opened is counted as failed, not as losing messages
    bool joined = false;  // room_changed seen for its room
    std::vector<std::pair<uint32_t, StreamChecker>> streams;  // the publishers of its room
  };
  void publish(Worker& w, uint32_t p);
  void pump(Worker& w);  // paced: send what each publisher owes by now
  std::string room_of(uint32_t i) const { return "load-r" + std::to_string(i % rooms_); }
  // A login answered 429 or 503 ("try again later") is tried again a second later, as a client
  // should: a server lets only so many logins of one address run at once.
  void retry_login(Worker& w, uint32_t i);
  static constexpr uint8_t kLoginAttempts = 60;
  struct LoginRetry;

  std::vector<std::unique_ptr<HttpExchange>> logins_;  // one per worker
  std::vector<std::unique_ptr<LoginRetry>> retries_;   // one per worker
  std::vector<uint8_t> login_attempts_;                // per connection
  std::vector<Conn> conns_;
  std::unique_ptr<std::atomic<uint64_t>[]> sent_;      // per publisher
  std::vector<uint64_t> own_received_;
  std::vector<uint8_t> stopped_;
  Pacers pacers_;
  std::vector<int64_t> started_ns_;  // per worker: when its publishers' rate started
  std::string login_request_;
  uint32_t rooms_ = 1, publishers_ = 0;
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
