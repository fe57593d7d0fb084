#pragma once
// Loop: a shard's network event loop — listeners, connections, output queues, timers — behind one
// interface with two backends (IoUringLoop, EpollLoop). Everything here runs on the owning shard's
// thread; other shards reach a connection only by sending a task to its shard.
//
// Life of a connection: accepted or connected → handler->on_open → on_data as bytes arrive →
// writes are queued and leave together at the end of the loop iteration (one submit for all
// connections on io_uring, one writev per connection on epoll) → close() flushes what is queued,
// sends FIN and waits (bounded) for the peer's FIN, reading and dropping what the peer still sends
// up to 256 KiB (past it the socket is closed at once), or abort() drops everything at once →
// handler->on_close exactly once → the record is released when the kernel holds no reference.
//
// TLS: a listener whose LoopOptions carry a server TlsContext, or a connect() given a client one,
// puts a TlsSession between the socket and the handler, which still writes and reads plaintext.
// The handler's on_open comes once the TLS handshake is done (a failed or stalled handshake never
// reaches it on the server; on a client it ends in on_close(-EPROTO)); writes made before that, by
// a client's handler after connect(), are held until then. Queued plaintext is encrypted once per
// loop iteration, all of it in as few records (up to 16 KiB) as it fits, and shared frames are
// released as soon as they are encrypted. A bad record closes the connection with on_close(-EPROTO);
// close() sends close_notify before FIN. buffered_amount counts plaintext and ciphertext not yet sent.
//
// Flow control: a connection with more than output_high_water bytes queued stops being read until
// it drains below output_low_water. A peer that never reads therefore costs at most about
// output_high_water bytes of memory, and its own sends back up into its socket. A paused connection
// (for its output, by its handler, or for a full queue to another shard) is offered no input: bytes
// the kernel had already read when the pause began (a multishot receive's last completions) wait in
// the leftover and are offered, before the socket is read again, when the pause ends. A handler that
// holds several messages in one on_data (pipelined requests) stops at output_full() for the same reason.
#include <cerrno>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <ringcast/core/detail/event_driver.hpp>
#include <ringcast/core/detail/slab.hpp>
#include <ringcast/core/shard.hpp>
#include <ringcast/net/backend/detail/accept_gate.hpp>
#include <ringcast/net/backend/detail/buffer_pool.hpp>
#include <ringcast/net/backend/detail/output_queue.hpp>
#include <ringcast/net/backend/loop_options.hpp>
#include <ringcast/net/backend/net_stats.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/socket_address.hpp>
#include <ringcast/net/tls/tls_context.hpp>

namespace ringcast {

class Loop : public EventDriver {
 public:
  // Creates the loop the options ask for; `automatic` prefers io_uring and falls back to epoll when
  // the kernel refuses io_uring. Logs the choice and the io_uring features in use.
  static std::unique_ptr<Loop> create(Shard& shard, const LoopOptions& options);
  // The loop of the calling shard's thread.
  static Loop& current() noexcept { return static_cast<Loop&>(Shard::current()->driver()); }

  ~Loop() override;

  Backend backend() const noexcept { return backend_; }
  Shard& shard() noexcept { return shard_; }
  TimerWheel& timers() noexcept { return shard_.timers(); }
  const LoopOptions& options() const noexcept { return options_; }
  const NetStats& stats() const noexcept { return stats_; }
  uint32_t connection_count() const noexcept { return conns_.live(); }

  // ---- Listening ----
  // Listens on `addr` (SO_REUSEPORT: every shard listens on the same port and the kernel spreads
  // connections). Returns a listener id, or -errno.
  int listen(const SocketAddress& addr, ConnectionHandler& handler);
  SocketAddress listener_address(int id) const;
  // Stops accepting (open connections stay).
  void close_listeners();
  // Closes listener `id` only (a drain stops accepting on the main port; a metrics listener stays).
  void close_listener(int id);
  // The server TLS context of connections accepted from now on (a reloaded certificate,
  // TcpServer::reload_tls); those already accepted keep theirs. Only on a loop whose options had one.
  void set_server_tls(std::shared_ptr<const TlsContext> tls);
  const std::shared_ptr<const TlsContext>& server_tls() const noexcept { return server_tls_; }

  // ---- Connecting (client side) ----
  // Starts a TCP connect; on_open or on_close(-errno) follows. `from` binds a source address (to
  // spread many connections over 127.0.0.0/8). Returns nullptr (errno set) when no socket could be made.
  // With `tls` (a client TlsContext), the connection speaks TLS; `server_name` is sent as SNI and
  // checked against the certificate when the context verifies peers.
  Connection* connect(const SocketAddress& to, ConnectionHandler& handler, void* context,
                      const SocketAddress* from = nullptr, const TlsContext* tls = nullptr,
                      std::string_view server_name = {});

  // ---- Output (queued; leaves at the end of this loop iteration) ----
  void write(Connection& c, const void* data, size_t n);
  void write(Connection& c, std::string_view s) { write(c, s.data(), s.size()); }
  // Room for at least `min` contiguous bytes to write in place; then write_commit(c, n).
  std::span<uint8_t> write_reserve(Connection& c, size_t min);
  void write_commit(Connection& c, size_t n);
  // Bytes owned elsewhere; `release(owner)` runs once they are sent or the connection is gone.
  void write_external(Connection& c, const uint8_t* data, size_t n, void* owner, OutputQueue::Release release);
  // Bytes of a buffer of frames shared by many connections (a room's frame arena): they join the
  // connection's last segment when it ends where they start, else start a segment — or, when the
  // connection is behind on sending (many segments queued), are copied, so that what a slow reader
  // holds alive stays what it is counted for. True when a segment was started: it holds a reference,
  // dropped with `release(owner)` once sent or dropped.
  bool write_shared(Connection& c, const uint8_t* data, size_t n, void* owner, OutputQueue::Release release);
  size_t buffered_amount(const Connection& c) const noexcept {
    return (c.out ? c.out->bytes() : 0) + (c.has(Connection::kTls) ? tls_plain_bytes(c) : 0);
  }
  bool is_tls(const Connection& c) const noexcept { return c.has(Connection::kTls); }
  // Why TLS failed on c (OpenSSL's reasons); valid until on_close returns, "" when it did not.
  std::string tls_error(const Connection& c) const;
  // Calls handler->on_drain(c) once the output queue is empty (at once if it is).
  void request_drain(Connection& c);

  // ---- Flow and lifecycle ----
  void pause_reading(Connection& c);
  // Reads again, unless paused for another reason. The input the handler left unconsumed is offered
  // to it first, as if it had just arrived (so on_data may run inside this call: not for use from
  // on_data itself): for a handler that stopped consuming to wait for something (a deferred HTTP
  // answer) and may go on, whether or not it had paused reading.
  void resume_reading(Connection& c);
  // More than output_high_water bytes are queued and have not yet drained below output_low_water:
  // the connection is not read meanwhile, and a handler should not turn more input into output.
  bool output_full(const Connection& c) const noexcept { return (c.paused & Connection::kPauseOutput) != 0; }
  // Graceful: on_close(0) now, then flush, FIN, wait for the peer's FIN (bounded), close.
  void close(Connection& c);
  // Immediate: on_close(error) now; queued output is dropped.
  void abort(Connection& c, int error = -ECONNABORTED);

  // A connection's name that outlives it: its slot and the slot's generation. find() gives the
  // connection back while it lives (open or closing), null once its record is released.
  struct Handle {
    uint32_t index = 0;
    uint32_t generation = 0;
  };
  Handle handle(const Connection& c) const noexcept { return {c.index, generations_[c.index]}; }
  Connection* find(Handle h) noexcept { return connection(h.index, h.generation); }

  // Calls fn(Connection&) for every connection with a handler attached.
  template <typename Fn>
  void for_each_connection(Fn&& fn) {
    for (uint32_t i = 0; i < conns_.high_water(); ++i) {
      if (live(i) && conns_.at(i)->is_open()) fn(*conns_.at(i));
    }
  }

 protected:
  struct Listener {
    explicit Listener(Timer::Callback cb) noexcept : retry(cb) {}
    Timer retry;                         // re-arms accepting after EMFILE/ENFILE back-off
    int fd = -1;
    int id = 0;
    SocketAddress address;
    ConnectionHandler* handler = nullptr;
    bool armed = false;                  // an accept request/registration is active
    bool closed = false;
    unsigned backoff_ms = 0;
    Loop* loop = nullptr;
  };

  Loop(Shard& shard, const LoopOptions& options, Backend backend);

  // ---- What a backend implements ----
  virtual bool nonblocking_sockets() const noexcept = 0;
  virtual void backend_listen(Listener& l) = 0;          // start accepting
  virtual void backend_stop_listen(Listener& l) = 0;     // stop accepting (l.fd stays open)
  virtual void backend_start_reading(Connection& c) = 0;
  virtual void backend_stop_reading(Connection& c) = 0;
  virtual void backend_send(Connection& c) = 0;          // c.out is non-empty and no send is in flight
  virtual void backend_close_fd(Connection& c) = 0;      // close c.fd, cancel what references it
  virtual void backend_connect(Connection& c, const SocketAddress& to) = 0;
  // Memory of the backend's own that a quiet second could give back (io_uring's receive buffers),
  // and the trim that does, about once a second while there is some, with the output blocks'.
  virtual bool backend_has_surplus() const noexcept { return false; }
  virtual void backend_trim() noexcept {}

  // ---- What backends call ----
  Connection* accept_connection(Listener& l, int fd);
  void accept_failed(Listener& l, int error);  // -errno from accept
  void connected(Connection& c, int error);     // error: 0 or -errno
  void received(Connection& c, uint8_t* data, size_t n);
  void peer_closed(Connection& c);              // EOF
  void io_failed(Connection& c, int error);     // -errno from a receive or send
  void sent(Connection& c, size_t n);
  // Re-evaluates whether c should be read and tells the backend.
  void update_reading(Connection& c);
  // The record may go once its fd is closed and no kernel operation references it.
  void maybe_release(Connection& c);
  // Once per iteration, before the shard chooses its sleep: start sends for connections with output,
  // then release closed records.
  void flush() override;
  // Resumes reading from the connections paused because their input overflowed a queue to another
  // shard (deliver), now that the backlog is gone; their kept input is offered first.
  bool mesh_clear() override {
    if (mesh_paused_.empty()) return false;
    resume_mesh_paused();
    return true;
  }

  // Slot generations tag kernel requests so that completions for a released record are recognised.
  uint32_t generation(uint32_t index) const noexcept { return generations_[index]; }
  bool live(uint32_t index) const noexcept { return index < generations_.size() && (generations_[index] & 1); }
  Connection* connection(uint32_t index, uint32_t gen) noexcept;

  Shard& shard_;
  const LoopOptions options_;
  const Backend backend_;
  NetStats own_stats_;
  NetStats& stats_;  // own_stats_, or the owner's (LoopOptions::stats)
  BufferPool pool_;
  AcceptGate gate_;
  std::vector<std::unique_ptr<Listener>> listeners_;

 private:
  static void on_connection_timer(Timer& t);
  static void on_listener_timer(Timer& t);
  static void on_pool_trim(Timer& t);
  struct PoolTrimTimer : Timer {
    explicit PoolTrimTimer(Loop* l) noexcept : Timer(&on_pool_trim), loop(l) {}
    Loop* loop;
  };

  struct TlsLink;  // a TLS connection's session and plaintext queue (loop.cpp)

  Connection* new_connection(int fd, ConnectionHandler& handler, void* context, uint16_t flags);
  // AcceptLimits: false when `fd` is reset for its address's rate; pauses `l` when the server is over its own.
  bool pass_gate(Listener& l, int fd);
  void deliver(Connection& c, uint8_t* data, size_t n);  // plaintext to the handler
  void dropped_after_close(Connection& c, size_t n);      // bytes read from a closing connection
  bool has_output(const Connection& c) const noexcept;
  OutputQueue& send_queue(Connection& c);                // c.out: what the backend sends
  void recycle_queue(OutputQueue*& q);
  // TLS (loop.cpp): each is a no-op on plain connections unless stated.
  bool attach_tls(Connection& c, const TlsContext& context, std::string_view server_name,
                  std::shared_ptr<const TlsContext> keep = nullptr);
  static void tls_sink(void* link, const uint8_t* data, size_t n);
  void tls_received(Connection& c, uint8_t* data, size_t n);
  void tls_handshake_done(Connection& c);
  void tls_failed(Connection& c, TlsLink& t);
  void tls_flush(Connection& c);      // encrypts the plaintext queue into c.out
  void tls_finish(Connection& c);     // closing: flush, then close_notify
  void tls_drop_plain(Connection& c);
  void tls_release(Connection& c);
  size_t tls_plain_bytes(const Connection& c) const noexcept;
  void start_closing(Connection& c);
  void detach(Connection& c, int error);  // on_close and handler off
  void begin_linger(Connection& c);
  void close_fd(Connection& c);
  void mark_dirty(Connection& c);
  void flush_one(Connection& c);
  void after_write(Connection& c);
  OutputQueue& output(Connection& c);
  void recycle_output(Connection& c);
  // Appends to the unconsumed input; false when memory ran out (the connection is aborted).
  bool append_leftover(Connection& c, const uint8_t* data, size_t n);
  void check_leftover(Connection& c);  // drops a connection holding more than max_leftover
  // Clears one reason for a pause; when none is left, offers the input kept meanwhile, then reads.
  void unpause(Connection& c, uint8_t reason);
  void resume_mesh_paused();
  void stop_hook();
  void release_pending();

  Slab<Connection> conns_;
  std::vector<uint32_t> generations_;               // per slot; odd while the slot is live
  std::vector<std::pair<uint32_t, uint32_t>> dirty_;  // (index, generation) with output to flush
  std::vector<std::pair<uint32_t, uint32_t>> dirty_swap_;
  std::vector<std::pair<uint32_t, uint32_t>> had_input_;  // (index, generation) with kHadInput: flushed first
  std::vector<std::pair<uint32_t, uint32_t>> mesh_paused_;  // (index, generation) with kPauseMesh
  PoolTrimTimer pool_trim_{this};  // armed while pool_ or the backend holds resident memory it may give back
  std::vector<uint32_t> to_release_;
  std::vector<std::unique_ptr<OutputQueue>> spare_outputs_;
  // This shard's own pointer to the current server context: a reload reaches each shard as a task,
  // so accepting reads no shared state and takes no lock.
  std::shared_ptr<const TlsContext> server_tls_;
  std::vector<std::unique_ptr<TlsLink>> tls_;  // by slot; empty while no TLS connection was seen
  std::unique_ptr<uint8_t[]> tls_buffer_;      // decrypted input (64 KiB), then a record's staging (16 KiB)
  bool stopping_ = false;
};

}  // namespace ringcast
