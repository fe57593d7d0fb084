#pragma once
// ScriptedLoop: a Loop whose I/O is a script instead of sockets, for the whole-server fuzz target
// (tests/fuzz/whole_server_fuzz.cpp) and its test. Connections are accepted without a descriptor on
// the loop's first listener, bytes are offered as if received, and output is taken as sent — kept per
// connection when asked, or left queued while the peer "does not read", as a real socket's would be.
// Everything above the socket calls is the real code: the loop's flow control and closing, the HTTP
// server, upgrades, WebSockets with permessage-deflate, the application's callbacks, rooms.
//
// ScriptedShard (below) makes it through LoopOptions::make_loop and runs scripts on it: the loop calls
// step() once per iteration (one read's worth of events, as the kernel would report them) until it
// returns false, then resets the connections still open and calls done() once every record is
// released. Bytes offered while reading is paused wait, as in a socket's receive buffer, and are
// offered once it resumes. No descriptor and no clock of its own: timers are the shard's.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <sys/uio.h>
#include <vector>

#include <ringcast/core/shard.hpp>
#include <ringcast/net/backend/loop.hpp>

namespace ringcast::test {

class ScriptedLoop final : public Loop {
 public:
  ScriptedLoop(Shard& shard, const LoopOptions& options) : Loop(shard, options, Backend::epoll) {}

  std::string_view name() const noexcept override { return "scripted"; }

  // Runs a script (this shard's thread, while none runs).
  void run(std::function<bool()> step, std::function<void()> done) {
    step_ = std::move(step);
    done_ = std::move(done);
  }

  // ---- What a step does (peers are numbered in the order they connected) ----
  // A client connects; false when the loop refused it (no listener, stopping).
  bool connect(bool keep_output = false) {
    if (listeners_.empty()) return false;
    Connection* c = accept_connection(*listeners_.front(), -1);
    if (!c) return false;
    peers_.push_back(Peer{.index = c->index, .gen = generation(c->index), .keep = keep_output});
    return true;
  }
  size_t peers() const noexcept { return peers_.size(); }
  // The peer sends bytes: offered now, or once reading resumes.
  void send(size_t peer, std::string_view bytes) {
    Peer& p = peers_[peer];
    p.unread.append(bytes);
    offer(p);
  }
  // The peer sends FIN (after what it sent before).
  void finish(size_t peer) {
    peers_[peer].fin = true;
    offer(peers_[peer]);
  }
  // The peer's connection is reset.
  void reset(size_t peer) {
    if (Connection* c = live_connection(peers_[peer])) io_failed(*c, -ECONNRESET);
  }
  // The peer stops or starts reading what the server sends.
  void set_reading(size_t peer, bool reads) {
    Peer& p = peers_[peer];
    p.reads = reads;
    if (Connection* c = live_connection(p); c && reads && p.blocked) {
      p.blocked = false;
      take_output(*c, p);
    }
  }
  // What the server sent peer `peer` (keep_output only).
  const std::string& output(size_t peer) const { return peers_[peer].output; }
  bool closed(size_t peer) { return live_connection(peers_[peer]) == nullptr; }

  // ---- EventDriver ----
  void wait(int64_t timeout_ns) override {
    if (finishing_ && all_released()) {
      finishing_ = false;
      peers_.clear();
      auto done = std::move(done_);
      done_ = nullptr;
      if (done) done();
    }
    if (timeout_ns == 0 || step_ || finishing_) return;  // more to do at once
    pollfd pfd{.fd = shard_.wake_fd(), .events = POLLIN, .revents = 0};
    const int ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
    if (::poll(&pfd, 1, ms) > 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(shard_.wake_fd(), &count, sizeof count);
    }
  }

  void dispatch() override {
    for (Connection* c : connects_) connected(*c, -ECONNREFUSED);  // nothing to connect to
    connects_.clear();
    for (Peer& p : peers_) offer(p);  // what waited for reading to resume
    if (step_ && !step_()) {
      step_ = nullptr;
      finishing_ = true;
      for (Peer& p : peers_) reset(static_cast<size_t>(&p - peers_.data()));
    }
  }

 protected:
  bool nonblocking_sockets() const noexcept override { return true; }
  void backend_listen(Listener& l) override { l.armed = true; }
  void backend_stop_listen(Listener& l) override { l.armed = false; }
  void backend_start_reading(Connection& c) override { c.flags |= Connection::kRecvArmed; }
  void backend_stop_reading(Connection& c) override { c.flags &= ~Connection::kRecvArmed; }
  void backend_send(Connection& c) override {
    Peer* p = peer_of(c);
    if (p && !p->reads) {
      p->blocked = true;  // stays queued, as in a full socket buffer
      return;
    }
    if (p) take_output(c, *p);
  }
  void backend_close_fd(Connection& c) override { c.flags &= ~Connection::kRecvArmed; }
  void backend_connect(Connection& c, const SocketAddress&) override { connects_.push_back(&c); }

 private:
  struct Peer {
    uint32_t index = 0, gen = 0;
    bool keep = false;     // keep what the server sends in `output`
    bool reads = true;     // takes what the server sends
    bool blocked = false;  // output waits for the peer to read
    bool fin = false;      // FIN to offer after `unread`
    std::string unread;    // sent by the peer, not yet offered (reading paused)
    std::string output;
  };

  Connection* live_connection(const Peer& p) {
    Connection* c = connection(p.index, p.gen);
    return c && !c->has(Connection::kFdClosed) ? c : nullptr;
  }
  Peer* peer_of(const Connection& c) {
    for (Peer& p : peers_) {
      if (p.index == c.index && p.gen == generation(c.index)) return &p;
    }
    return nullptr;
  }
  bool all_released() {
    for (const Peer& p : peers_) {
      if (connection(p.index, p.gen)) return false;
    }
    return true;
  }

  // Offers what the peer sent while the connection reads, as one receive would.
  void offer(Peer& p) {
    Connection* c = live_connection(p);
    if (!c || !c->has(Connection::kRecvArmed)) return;
    if (!p.unread.empty()) {
      std::string bytes = std::move(p.unread);
      p.unread.clear();
      received(*c, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
      c = live_connection(p);
    }
    if (c && p.fin && p.unread.empty()) {
      p.fin = false;
      peer_closed(*c);
    }
  }

  // One send's worth of the connection's output, as written to the socket.
  void take_output(Connection& c, Peer& p) {
    if (!c.out || c.out->empty()) return;
    const size_t n = std::min(c.out->bytes(), options_.max_send_bytes);
    if (p.keep) {
      iovec iov[OutputQueue::kMaxIov];
      const size_t count = c.out->gather(iov, OutputQueue::kMaxIov, n);
      size_t taken = 0;
      for (size_t i = 0; i < count && taken < n; ++i) {
        const size_t k = std::min(iov[i].iov_len, n - taken);
        p.output.append(static_cast<const char*>(iov[i].iov_base), k);
        taken += k;
      }
    }
    sent(c, n);
  }

  std::function<bool()> step_;
  std::function<void()> done_;
  bool finishing_ = false;
  std::vector<Peer> peers_;
  std::vector<Connection*> connects_;
};

// The ScriptedLoop of a server of one shard: loop_options() goes into its options (AppOptions::loop,
// TcpServerOptions::loop) before it starts; once it has, run() runs a script from any other thread.
class ScriptedShard {
 public:
  LoopOptions loop_options() {
    LoopOptions o;
    o.make_loop = [this](Shard& shard, const LoopOptions& lo) -> std::unique_ptr<Loop> {
      auto loop = std::make_unique<ScriptedLoop>(shard, lo);
      loop_ = loop.get();
      shard_ = &shard;
      return loop;
    };
    return o;
  }
  ScriptedLoop& loop() noexcept { return *loop_; }

  // Runs the script `step` (called on the shard's thread once per loop iteration until it returns
  // false) and waits for its end.
  void run(std::function<bool(ScriptedLoop&)> step) {
    std::promise<void> done;
    ScriptedLoop& loop = *loop_;
    shard_->post([&](Shard&) {
      loop.run([&loop, step = std::move(step)] { return step(loop); }, [&done] { done.set_value(); });
    });
    done.get_future().wait();
  }

 private:
  ScriptedLoop* loop_ = nullptr;  // set on the shard's thread before the server's start() returns
  Shard* shard_ = nullptr;
};

}  // namespace ringcast::test
