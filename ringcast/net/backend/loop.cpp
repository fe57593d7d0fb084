#include <ringcast/net/backend/loop.hpp>

#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/detail/socket_ops.hpp>
#include <ringcast/net/tls/detail/tls_session.hpp>

namespace ringcast {
namespace {

constexpr unsigned kLingerMs = 2000;       // after our FIN, how long we wait for the peer's
// What a closing connection's peer may still send, read and dropped, before the socket is closed
// under it (a reset): enough for the requests a client pipelined before it saw our close, and no
// more for a peer that sends on after a Close (a server once buffered such bytes until it ran out of
// memory; read into nothing, they still cost the shard a read each).
constexpr uint32_t kMaxBytesAfterClose = 256 << 10;
constexpr unsigned kAcceptBackoffMinMs = 25;
constexpr unsigned kAcceptBackoffMaxMs = 1000;
constexpr size_t kSpareOutputs = 32;       // recycled output queues kept per shard (about 1 KiB each)
constexpr size_t kMaxSharedSegments = 16;  // queued segments past which write_shared copies
constexpr size_t kTlsRecord = 16 * 1024;   // RFC 8446 §5.1: a record carries at most 2^14 bytes of plaintext
constexpr size_t kTlsPlainBuffer = 4 * kTlsRecord;  // decrypted input handed to on_data at once

Connection& connection_of(Timer& t) noexcept {
  // The timer is the record's first member (standard layout): the record starts where it does.
  return *reinterpret_cast<Connection*>(&t);
}

}  // namespace

// A TLS connection's state beside its record. The session's sink appends ciphertext to c.out.
struct Loop::TlsLink {
  TlsLink(Loop& l, Connection& c, const TlsContext& ctx, std::string_view server_name,
          std::shared_ptr<const TlsContext> keep)
      : loop(&l), conn(&c), context(std::move(keep)), session(ctx, &Loop::tls_sink, this, server_name) {}
  Loop* loop;
  Connection* conn;
  // Accepted connections: the context they were accepted with, alive for as long as they are (its
  // SSL_CTX's callbacks read it), whatever reloads happen meanwhile.
  std::shared_ptr<const TlsContext> context;
  TlsSession session;
  OutputQueue* plain = nullptr;  // plaintext not yet encrypted; null while none
};

void ConnectionHandler::on_shutdown(Connection& c) { Loop::current().close(c); }

Loop::Loop(Shard& shard, const LoopOptions& options, Backend backend)
    : shard_(shard),
      options_(options),
      backend_(backend),
      stats_(options.stats ? *options.stats : own_stats_),
      gate_(options.accept_limits, shard.shard_count(), shard.now_ms()),
      server_tls_(options.tls) {
  raise_fd_limit();
  shard_.on_stop([this] { stop_hook(); });
}

Loop::~Loop() {
  // Whatever is still open when the shard ends is cut off: handlers hear on_close, fds close.
  for (uint32_t i = 0; i < conns_.high_water(); ++i) {
    if (!live(i)) continue;
    Connection& c = *conns_.at(i);
    if (c.is_open()) detach(c, -ECANCELED);
    timers().cancel(c.timer);
    if (c.fd >= 0) ::close(c.fd);
    if (c.out) c.out->clear(pool_);
    delete c.out;
    std::free(c.leftover);
    if (c.has(Connection::kTls)) tls_release(c);
  }
  timers().cancel(pool_trim_);
  for (auto& l : listeners_) {
    timers().cancel(l->retry);
    if (l->fd >= 0) ::close(l->fd);
  }
}

Connection* Loop::connection(uint32_t index, uint32_t gen) noexcept {
  if (index >= generations_.size() || generations_[index] != gen || !(gen & 1)) return nullptr;
  return conns_.at(index);
}

// ---------------------------------------------------------------------------------------------
// Listening and connecting

int Loop::listen(const SocketAddress& addr, ConnectionHandler& handler) {
  const int fd = make_listener(addr, options_.listen_backlog, nonblocking_sockets());
  if (fd < 0) return fd;
  auto l = std::make_unique<Listener>(&on_listener_timer);
  l->fd = fd;
  l->id = static_cast<int>(listeners_.size());
  l->address = local_address(fd);
  l->handler = &handler;
  l->loop = this;
  listeners_.push_back(std::move(l));
  backend_listen(*listeners_.back());
  return listeners_.back()->id;
}

SocketAddress Loop::listener_address(int id) const { return listeners_.at(static_cast<size_t>(id))->address; }

void Loop::close_listeners() {
  for (auto& l : listeners_) close_listener(l->id);
}

void Loop::close_listener(int id) {
  Listener& l = *listeners_.at(static_cast<size_t>(id));
  if (l.closed) return;
  l.closed = true;
  timers().cancel(l.retry);
  if (l.armed) backend_stop_listen(l);
  ::close(l.fd);
  l.fd = -1;
}

void Loop::set_server_tls(std::shared_ptr<const TlsContext> tls) {
  if (server_tls_ && tls && tls->is_server()) server_tls_ = std::move(tls);
}

void Loop::on_listener_timer(Timer& t) {
  auto& l = reinterpret_cast<Listener&>(t);
  if (!l.closed && !l.armed) l.loop->backend_listen(l);
}

Connection* Loop::new_connection(int fd, ConnectionHandler& handler, void* context, uint16_t flags) {
  auto [c, index] = conns_.alloc(&on_connection_timer);
  if (index >= generations_.size()) generations_.resize(index + 1, 0);
  ++generations_[index];  // odd: live
  c->fd = fd;
  c->index = index;
  c->handler = &handler;
  c->context = context;
  c->flags = flags;
  stats_.connections_open.add();
  stats_.connections_total.add();
  return c;
}

Connection* Loop::accept_connection(Listener& l, int fd) {
  l.backoff_ms = 0;
  if (stopping_) {
    ::close(fd);
    return nullptr;
  }
  if (gate_.enabled() && !pass_gate(l, fd)) return nullptr;
  tune_connection(fd);
  if (server_tls_) {
    // The handler meets the connection once the handshake is done (tls_handshake_done); until then
    // the loop owns its timer, which bounds the handshake.
    Connection* c = new_connection(fd, *l.handler, nullptr, Connection::kTls | Connection::kTlsHandshake);
    if (!attach_tls(*c, *server_tls_, {}, server_tls_)) {
      close_fd(*c);
      return nullptr;
    }
    timers().schedule_in(c->timer, options_.tls_handshake_timeout_ms);
    update_reading(*c);
    return c;
  }
  Connection* c = new_connection(fd, *l.handler, nullptr, Connection::kOpen);
  c->handler->on_open(*c);
  update_reading(*c);
  return c;
}

bool Loop::pass_gate(Listener& l, int fd) {
  const uint64_t now = shard_.now_ms();
  if (!gate_.admit(fd, now)) {
    stats_.accepts_refused.add();
    reset_connection(fd);
    return false;
  }
  // Over the server's rate: the listener rests while the bucket refills, and what arrives meanwhile
  // waits in the kernel's backlog (those already accepted stay).
  if (const uint64_t pause = gate_.accepted(now); pause > 0) {
    if (!l.retry.armed()) stats_.accept_pauses.add();
    if (l.armed) backend_stop_listen(l);
    timers().schedule_in(l.retry, pause);
  }
  return true;
}

void Loop::accept_failed(Listener& l, int error) {
  stats_.accept_errors.add();
  if (error == -EMFILE || error == -ENFILE || error == -ENOBUFS || error == -ENOMEM) {
    // Out of descriptors or memory: stop accepting for a while instead of spinning on the error.
    // Pending connections wait in the kernel's backlog until descriptors are free again.
    const bool first = l.backoff_ms == 0;
    l.backoff_ms = first ? kAcceptBackoffMinMs : std::min(l.backoff_ms * 2, kAcceptBackoffMaxMs);
    if (first) log::warn("accept on {}: {}; pausing accepts", l.address.to_string(), std::strerror(-error));
    if (l.armed) backend_stop_listen(l);
    timers().schedule_in(l.retry, l.backoff_ms);
    return;
  }
  // ECONNABORTED, EPERM (firewall), EPROTO...: that one connection failed; keep accepting.
  log::debug("accept on {}: {}", l.address.to_string(), std::strerror(-error));
}

Connection* Loop::connect(const SocketAddress& to, ConnectionHandler& handler, void* context,
                          const SocketAddress* from, const TlsContext* tls, std::string_view server_name) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC | (nonblocking_sockets() ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return nullptr;
  if (from) {
    // Let connect() pick the port for the full 4-tuple, so many source addresses share the range.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd, from->data(), from->size()) < 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      return nullptr;
    }
  }
  tune_connection(fd);
  Connection* c = new_connection(fd, handler, context, Connection::kOpen | Connection::kConnecting);
  if (tls) {
    c->flags |= Connection::kTls | Connection::kTlsHandshake;
    if (!attach_tls(*c, *tls, server_name)) {
      c->flags &= ~(Connection::kOpen | Connection::kConnecting);  // the handler never hears of it
      close_fd(*c);
      errno = ENOMEM;
      return nullptr;
    }
  }
  backend_connect(*c, to);
  return c;
}

void Loop::connected(Connection& c, int error) {
  c.flags &= ~Connection::kConnecting;
  if (!c.is_open()) {  // closed or aborted while connecting
    close_fd(c);
    return;
  }
  if (error < 0) {
    detach(c, error);
    close_fd(c);
    return;
  }
  if (c.has(Connection::kTls)) {
    tls_[c.index]->session.start();  // the ClientHello; on_open follows the handshake
    update_reading(c);
    return;
  }
  c.handler->on_open(c);
  if (!c.is_open()) return;
  update_reading(c);
  if (c.out) mark_dirty(c);
}

// ---------------------------------------------------------------------------------------------
// Input

void Loop::received(Connection& c, uint8_t* data, size_t n) {
  stats_.bytes_in.add(n);
  if (!c.is_open() && !c.has(Connection::kTlsHandshake)) {
    dropped_after_close(c, n);
    return;
  }
  if (c.has(Connection::kTls)) {
    tls_received(c, data, n);
    return;
  }
  deliver(c, data, n);
}

void Loop::dropped_after_close(Connection& c, size_t n) {
  // Closing: the peer's bytes are read and dropped until its FIN, so that data it sent before it saw
  // our close does not turn the close into a reset — up to kMaxBytesAfterClose; past that the peer is
  // not finishing but sending on, and the socket is closed at once. The leftover's size counts them:
  // the handler's leftover went with it (detach).
  const size_t total = size_t{c.leftover_size} + n;
  c.leftover_size = static_cast<uint32_t>(std::min<size_t>(total, UINT32_MAX));
  if (total > kMaxBytesAfterClose) {
    stats_.closing_resets.add();
    close_fd(c);
  }
}

void Loop::deliver(Connection& c, uint8_t* data, size_t n) {
  if (c.paused) {
    // Reading is paused, yet bytes came: completions of a multishot receive posted before the kernel
    // saw the pause (at most one receive's worth, see IoUringLoop), or plaintext decrypted with them.
    // They wait unoffered in the leftover until reading resumes (unpause), so a paused handler turns
    // no more input into output.
    if (n > 0 && append_leftover(c, data, n)) check_leftover(c);
    return;
  }
  uint8_t* buf = data;
  size_t len = n;
  if (c.leftover && n == 0) {  // unpause: the leftover alone
    buf = c.leftover;
    len = c.leftover_size;
  } else if (c.leftover) {
    if (!append_leftover(c, data, n)) return;
    buf = c.leftover;
    len = c.leftover_size;
  }
  if (!c.has(Connection::kHadInput)) {  // flushed first; an entry among the dirty finds it flushed
    c.flags |= Connection::kHadInput;
    had_input_.emplace_back(c.index, generations_[c.index]);
  }
  size_t off = 0;
  const uint64_t backlogged = shard_.backlogged_tasks();
  while (off < len && c.is_open()) {
    ConnectionHandler* h = c.handler;
    size_t used = h->on_data(c, {buf + off, len - off});
    if (used > len - off) used = len - off;
    off += used;
    // Same handler: whatever it left is a partial message. Paused (its output is over the mark): the
    // rest waits, also for a handler that just took the connection over.
    if (c.handler == h || c.paused) break;
  }
  // What this input made (a room publish, say) overflowed a queue to another shard: read no more
  // from this connection until the backlog is gone, so it waits in its socket, not in our memory.
  if (shard_.backlogged_tasks() != backlogged && c.is_open() && !(c.paused & Connection::kPauseMesh)) {
    c.paused |= Connection::kPauseMesh;
    mesh_paused_.emplace_back(c.index, generations_[c.index]);
    stats_.mesh_pauses.add();
    update_reading(c);
  }
  if (buf == c.leftover) {
    // Input was the leftover buffer: shift what remains to its front, or free it.
    if (!c.is_open() || off == len) {
      std::free(c.leftover);
      c.leftover = nullptr;
      c.leftover_size = 0;
    } else if (off > 0) {
      std::memmove(c.leftover, c.leftover + off, len - off);
      c.leftover_size = static_cast<uint32_t>(len - off);
    }
  } else if (c.is_open() && off < len) {
    append_leftover(c, buf + off, len - off);
  }
  check_leftover(c);
}

bool Loop::append_leftover(Connection& c, const uint8_t* data, size_t n) {
  const size_t need = size_t{c.leftover_size} + n;
  const size_t capacity = c.leftover ? ::malloc_usable_size(c.leftover) : 0;
  if (need > capacity) {
    // Grown by half again at least (the allocation's usable size is the capacity: the record has no
    // room for one), so a message that arrives in many reads is copied a bounded number of times.
    const size_t grown_size = c.leftover ? std::max(need, capacity + capacity / 2) : need;
    auto* grown = static_cast<uint8_t*>(std::realloc(c.leftover, grown_size));
    if (!grown) {
      abort(c, -ENOMEM);
      return false;
    }
    c.leftover = grown;
  }
  std::memcpy(c.leftover + c.leftover_size, data, n);
  c.leftover_size = static_cast<uint32_t>(need);
  return true;
}

void Loop::check_leftover(Connection& c) {
  if (c.is_open() && c.leftover_size > options_.max_leftover) {
    log::warn("connection {}: {} unconsumed bytes, dropping it", c.index, c.leftover_size);
    abort(c, -EMSGSIZE);
  }
}

void Loop::peer_closed(Connection& c) {
  c.flags |= Connection::kPeerEof;
  if (c.has(Connection::kTlsHandshake) && !c.is_open()) {  // gone mid-handshake: nobody to tell
    close_fd(c);
    return;
  }
  if (c.is_open()) {
    // The peer is done sending. What we still have queued goes out, then we close.
    detach(c, 0);
    c.flags |= Connection::kClosing;
    timers().schedule_in(c.timer, options_.close_timeout_ms);
    tls_finish(c);
    if (!c.out) close_fd(c);
    return;
  }
  if (c.has(Connection::kLinger) || !c.out) close_fd(c);
}

void Loop::io_failed(Connection& c, int error) {
  if (c.is_open()) detach(c, error);
  close_fd(c);
}

// ---------------------------------------------------------------------------------------------
// Output

OutputQueue& Loop::send_queue(Connection& c) {
  if (!c.out) {
    if (!spare_outputs_.empty()) {
      c.out = spare_outputs_.back().release();
      spare_outputs_.pop_back();
    } else {
      c.out = new OutputQueue();
    }
  }
  return *c.out;
}

// Where the handler's writes go: c.out itself, or on a TLS connection the plaintext queue that
// tls_flush encrypts into c.out.
OutputQueue& Loop::output(Connection& c) {
  if (!c.has(Connection::kTls)) return send_queue(c);
  OutputQueue*& plain = tls_[c.index]->plain;
  if (!plain) {
    if (!spare_outputs_.empty()) {
      plain = spare_outputs_.back().release();
      spare_outputs_.pop_back();
    } else {
      plain = new OutputQueue();
    }
  }
  return *plain;
}

bool Loop::has_output(const Connection& c) const noexcept {
  return c.out || (c.has(Connection::kTls) && tls_[c.index]->plain);
}

void Loop::recycle_queue(OutputQueue*& q) {
  if (!q) return;
  q->clear(pool_);
  if (spare_outputs_.size() < kSpareOutputs) {
    spare_outputs_.emplace_back(q);
  } else {
    delete q;
  }
  q = nullptr;
}

void Loop::recycle_output(Connection& c) { recycle_queue(c.out); }

void Loop::write(Connection& c, const void* data, size_t n) {
  if (!c.is_open() || n == 0) return;
  output(c).append(data, n, pool_);
  stats_.output_bytes_queued.add(n);
  after_write(c);
}

std::span<uint8_t> Loop::write_reserve(Connection& c, size_t min) { return output(c).reserve(min, pool_); }

void Loop::write_commit(Connection& c, size_t n) {
  if (!c.is_open()) {  // reserved, then closed by a callback in between: drop it
    if (c.has(Connection::kTls)) return;  // the plaintext queue goes with the connection
    if (c.out && c.out->empty() && !c.has(Connection::kSendInFlight)) recycle_output(c);
    return;
  }
  output(c).commit(n);
  stats_.output_bytes_queued.add(n);
  after_write(c);
}

void Loop::write_external(Connection& c, const uint8_t* data, size_t n, void* owner, OutputQueue::Release release) {
  if (!c.is_open()) {
    release(owner);
    return;
  }
  output(c).append_external(data, n, owner, release);
  stats_.output_bytes_queued.add(n);
  after_write(c);
}

bool Loop::write_shared(Connection& c, const uint8_t* data, size_t n, void* owner, OutputQueue::Release release) {
  if (!c.is_open()) return false;
  OutputQueue& q = output(c);
  bool started = false;
  if (!q.extend_external(data, n, owner)) {
    if (q.segments() < kMaxSharedSegments) {
      q.append_external(data, n, owner, release);
      started = true;
    } else {
      // Behind on sending: a copy. A reader that never reads must not keep many shared buffers alive
      // (each maybe a few of its bytes among others' frames) while it is counted for its bytes only.
      q.append(data, n, pool_);
    }
  }
  stats_.output_bytes_queued.add(n);
  after_write(c);
  return started;
}

void Loop::request_drain(Connection& c) {
  if (!c.is_open()) return;
  if (!has_output(c)) {
    c.handler->on_drain(c);
    return;
  }
  c.flags |= Connection::kWantDrain;
}

void Loop::after_write(Connection& c) {
  mark_dirty(c);
  if (buffered_amount(c) > options_.output_high_water) {
    if (!(c.paused & Connection::kPauseOutput)) {
      c.paused |= Connection::kPauseOutput;
      stats_.read_pauses.add();
      update_reading(c);
    }
  }
}

void Loop::mark_dirty(Connection& c) {
  if (c.has(Connection::kDirty)) return;
  c.flags |= Connection::kDirty;
  if (!c.has(Connection::kHadInput)) dirty_.emplace_back(c.index, generations_[c.index]);  // else listed
}

void Loop::sent(Connection& c, size_t n) {
  stats_.bytes_out.add(n);
  stats_.output_bytes_queued.sub(n);
  if (!c.out) return;
  c.out->consume(n, pool_);
  if (c.out->empty() && !c.has(Connection::kSendInFlight)) recycle_output(c);
  if ((c.paused & Connection::kPauseOutput) && buffered_amount(c) <= options_.output_low_water) {
    unpause(c, Connection::kPauseOutput);
  }
  if (c.has(Connection::kWantDrain) && c.is_open() && !has_output(c)) {
    c.flags &= ~Connection::kWantDrain;
    c.handler->on_drain(c);
  }
  if (c.has(Connection::kFdClosed)) return;
  if (c.out) {
    mark_dirty(c);
  } else if (c.has(Connection::kClosing) && !c.has(Connection::kLinger)) {
    begin_linger(c);
  }
}

void Loop::flush() {
  // Those that sent us something this iteration are answered first, before the members a publication
  // reaches: a request's reply, or a publisher's own copy (its acknowledgement), goes out at the head
  // of the iteration's sends, and a client that waits for it sends its next message sooner.
  // Handlers may queue more output while we flush (on_drain): swap buffers so nothing is lost.
  while (!had_input_.empty() || !dirty_.empty()) {
    dirty_swap_.swap(had_input_);
    for (auto [index, gen] : dirty_swap_) {
      Connection* c = connection(index, gen);
      if (!c) continue;
      c->flags &= ~Connection::kHadInput;
      if (c->has(Connection::kDirty)) flush_one(*c);
    }
    dirty_swap_.clear();
    dirty_swap_.swap(dirty_);
    for (auto [index, gen] : dirty_swap_) {
      Connection* c = connection(index, gen);
      if (c && c->has(Connection::kDirty)) flush_one(*c);
    }
    dirty_swap_.clear();
  }
  // Last: a send that fails right here (EPIPE, a reset) closes its connection, which must not wait
  // for the next wake-up to be released.
  release_pending();
  if ((pool_.has_surplus() || backend_has_surplus()) && !pool_trim_.armed()) timers().schedule_in(pool_trim_, 1000);
}

void Loop::flush_one(Connection& c) {
  if (c.has(Connection::kTls)) tls_flush(c);  // still dirty: its ciphertext needs no new entry
  c.flags &= ~Connection::kDirty;
  if (c.out && !c.out->empty() && !c.has(Connection::kSendInFlight | Connection::kConnecting | Connection::kFdClosed)) {
    stats_.sends.add();
    backend_send(c);
  }
}

void Loop::resume_mesh_paused() {
  // Input offered on resuming may overflow a queue again and pause its connection anew: that one
  // joins a fresh list.
  std::vector<std::pair<uint32_t, uint32_t>> resumed;
  resumed.swap(mesh_paused_);
  for (auto [index, gen] : resumed) {
    Connection* c = connection(index, gen);
    if (!c || !(c->paused & Connection::kPauseMesh)) continue;
    unpause(*c, Connection::kPauseMesh);
  }
  if (mesh_paused_.empty()) {
    resumed.clear();
    mesh_paused_.swap(resumed);  // keeps the capacity: no allocation on the next pause
  }
}

void Loop::on_pool_trim(Timer& t) {
  Loop& loop = *static_cast<PoolTrimTimer&>(t).loop;
  loop.pool_.trim();
  loop.backend_trim();
  // The burst is over: what it allocated and freed meanwhile (an output queue per connection that had
  // something to send in the same iteration, HTTP sessions, handshakes) lies free in the heap amid
  // records that live on, so the heap cannot shrink and keeps those pages resident; give them back
  // too, once per burst (after 9,000 echoes at once on epoll: 0.5 MiB). The spare output queues and
  // the lists sized by the burst's busiest iteration go first: allocated amid the freed memory, they
  // would keep its pages.
  if (!loop.pool_.has_surplus() && !loop.backend_has_surplus()) {
    std::vector<std::unique_ptr<OutputQueue>>().swap(loop.spare_outputs_);
    loop.dirty_.shrink_to_fit();
    loop.dirty_swap_.shrink_to_fit();
    loop.had_input_.shrink_to_fit();
    loop.to_release_.shrink_to_fit();
    ::malloc_trim(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading state

void Loop::pause_reading(Connection& c) {
  c.paused |= Connection::kPauseHandler;
  update_reading(c);
}

void Loop::resume_reading(Connection& c) { unpause(c, Connection::kPauseHandler); }

void Loop::unpause(Connection& c, uint8_t reason) {
  c.paused &= static_cast<uint8_t>(~reason);
  // What waits in the leftover is offered before the socket is read again: a handler that stops on
  // its own (its output over the mark again) leaves the socket unread, so the leftover cannot grow
  // by a batch of completions per pause. The leftover is what the handler saw (plaintext on TLS):
  // it goes past the TLS layer.
  if (c.paused == 0 && c.leftover_size > 0 && c.is_open()) deliver(c, c.leftover + c.leftover_size, 0);
  update_reading(c);
}

void Loop::update_reading(Connection& c) {
  if (c.has(Connection::kFdClosed | Connection::kConnecting)) return;
  // While closing we read (and drop) so the peer's FIN is seen and unread data never turns our
  // close into a reset; the protocol's pauses no longer matter then.
  const bool want = !c.is_open() || c.paused == 0;
  if (want && !c.has(Connection::kRecvArmed)) backend_start_reading(c);
  if (!want && c.has(Connection::kRecvArmed)) backend_stop_reading(c);
}

// ---------------------------------------------------------------------------------------------
// Closing

void Loop::detach(Connection& c, int error) {
  ConnectionHandler* h = c.handler;
  c.flags &= ~Connection::kOpen;  // from here on, writes and closes of c are no-ops
  timers().cancel(c.timer);
  std::free(c.leftover);
  c.leftover = nullptr;
  c.leftover_size = 0;
  // The handler and its context stay reachable through c during on_close (a protocol's state may
  // look itself up through them); after it, the connection belongs to the loop alone.
  if (h) h->on_close(c, error);
  c.handler = nullptr;
  c.context = nullptr;
  timers().cancel(c.timer);  // in case on_close re-armed it
}

void Loop::close(Connection& c) {
  if (!c.is_open()) return;
  detach(c, 0);
  c.flags |= Connection::kClosing;
  if (c.has(Connection::kConnecting)) return;  // connected() closes it
  tls_finish(c);
  timers().schedule_in(c.timer, options_.close_timeout_ms);
  update_reading(c);
  if (!c.out) begin_linger(c);
}

void Loop::start_closing(Connection& c) {
  c.flags |= Connection::kClosing;
  timers().schedule_in(c.timer, options_.close_timeout_ms);
  update_reading(c);
  if (!c.out) begin_linger(c);
}

void Loop::abort(Connection& c, int error) {
  if (c.is_open()) detach(c, error);
  if (c.has(Connection::kConnecting)) return;  // connected() closes it
  close_fd(c);
}

void Loop::begin_linger(Connection& c) {
  if (c.has(Connection::kPeerEof)) {
    close_fd(c);
    return;
  }
  c.flags |= Connection::kLinger;
  ::shutdown(c.fd, SHUT_WR);
  timers().schedule_in(c.timer, kLingerMs);
}

void Loop::close_fd(Connection& c) {
  if (c.has(Connection::kFdClosed)) return;
  timers().cancel(c.timer);
  c.flags |= Connection::kFdClosed;
  backend_close_fd(c);
  c.fd = -1;
  stats_.connections_closed.add();
  if (c.out && !c.has(Connection::kSendInFlight)) {
    stats_.output_bytes_queued.sub(c.out->bytes());
    recycle_output(c);
  }
  tls_drop_plain(c);
  maybe_release(c);
}

void Loop::maybe_release(Connection& c) {
  if (c.has(Connection::kFdClosed) && c.ops == 0) to_release_.push_back(c.index);
}

void Loop::release_pending() {
  for (uint32_t index : to_release_) {
    if (!live(index)) continue;
    Connection& c = *conns_.at(index);
    if (!c.has(Connection::kFdClosed) || c.ops != 0) continue;
    if (c.out) {
      stats_.output_bytes_queued.sub(c.out->bytes());
      recycle_output(c);
    }
    std::free(c.leftover);
    if (c.has(Connection::kTls)) tls_release(c);
    ++generations_[index];  // even: free
    conns_.free(index);
    stats_.connections_open.sub();
  }
  to_release_.clear();
  if (stopping_ && conns_.live() == 0) {
    stopping_ = false;
    shard_.release_stop();
  }
}

void Loop::on_connection_timer(Timer& t) {
  Connection& c = connection_of(t);
  Loop& loop = current();
  if (c.is_open()) {
    c.handler->on_timeout(c);
  } else if (!c.has(Connection::kFdClosed)) {
    // Closing took too long (a peer that neither reads nor sends FIN): give up on it.
    loop.close_fd(c);
  }
}

void Loop::stop_hook() {
  close_listeners();
  for_each_connection([](Connection& c) { c.handler->on_shutdown(c); });
  // Accepted TLS connections still in their handshake have no handler to tell: just drop them.
  for (uint32_t i = 0; i < conns_.high_water(); ++i) {
    if (!live(i)) continue;
    Connection& c = *conns_.at(i);
    if (c.has(Connection::kTlsHandshake) && !c.is_open() && !c.has(Connection::kFdClosed)) close_fd(c);
  }
  if (conns_.live() > 0) {
    stopping_ = true;
    shard_.hold_stop();
  }
}

// ---------------------------------------------------------------------------------------------
// TLS

bool Loop::attach_tls(Connection& c, const TlsContext& context, std::string_view server_name,
                      std::shared_ptr<const TlsContext> keep) {
  if (tls_.size() <= c.index) tls_.resize(c.index + 1);
  tls_[c.index] = std::make_unique<TlsLink>(*this, c, context, server_name, std::move(keep));
  if (!tls_buffer_) tls_buffer_ = std::make_unique<uint8_t[]>(kTlsPlainBuffer + kTlsRecord);
  return tls_[c.index]->session.valid();
}

void Loop::tls_sink(void* link, const uint8_t* data, size_t n) {
  auto& t = *static_cast<TlsLink*>(link);
  Connection& c = *t.conn;
  if (c.has(Connection::kFdClosed)) return;
  t.loop->send_queue(c).append(data, n, t.loop->pool_);
  t.loop->stats_.output_bytes_queued.add(n);
  t.loop->mark_dirty(c);
}

std::string Loop::tls_error(const Connection& c) const {
  return c.has(Connection::kTls) ? tls_[c.index]->session.error_text() : std::string();
}

size_t Loop::tls_plain_bytes(const Connection& c) const noexcept {
  const OutputQueue* plain = tls_[c.index]->plain;
  return plain ? plain->bytes() : 0;
}

void Loop::tls_received(Connection& c, uint8_t* data, size_t n) {
  TlsLink& t = *tls_[c.index];
  uint8_t* plain = tls_buffer_.get();
  t.session.feed(data, n);
  for (;;) {
    // Decrypt as much as fits, so that many small records reach the handler in one on_data.
    size_t got = 0;
    TlsSession::Result r = TlsSession::Result::kDone;
    while (got < kTlsPlainBuffer) {
      size_t k = 0;
      r = t.session.read(plain + got, kTlsPlainBuffer - got, k);
      if (r != TlsSession::Result::kDone || k == 0) break;  // k == 0: no room for the next record
      got += k;
    }
    if (c.has(Connection::kTlsHandshake) && t.session.handshake_done()) tls_handshake_done(c);
    if (got > 0 && c.is_open()) deliver(c, plain, got);
    if (!c.is_open() && !c.has(Connection::kTlsHandshake)) break;  // closed by the handler: drop the rest
    if (r == TlsSession::Result::kDone) continue;                   // the buffer was full
    if (r == TlsSession::Result::kClosed) {
      // The peer's close_notify: answer with ours, then FIN, as for a local close.
      close(c);
    } else if (r == TlsSession::Result::kError) {
      tls_failed(c, t);
    }
    break;
  }
  t.session.end_feed();  // the receive buffer goes back to the kernel
}

void Loop::tls_handshake_done(Connection& c) {
  c.flags &= ~Connection::kTlsHandshake;
  if (!c.is_open()) {
    // Accepted: the handshake timer was ours; from here on the handler owns the connection.
    timers().cancel(c.timer);
    c.flags |= Connection::kOpen;
  }
  c.handler->on_open(c);
  if (c.is_open() && has_output(c)) mark_dirty(c);  // plaintext written before the handshake ended
}

void Loop::tls_failed(Connection& c, TlsLink& t) {
  stats_.tls_errors.add();
  if (c.is_open() && c.has(Connection::kTlsHandshake)) {  // our own outgoing connection: worth a warning
    log::warn("connection {}: TLS handshake failed: {}", c.index, t.session.error_text());
  } else {
    log::debug("connection {}: TLS: {}", c.index, t.session.error_text());
  }
  c.flags &= ~Connection::kTlsHandshake;
  if (c.is_open()) detach(c, -EPROTO);
  tls_drop_plain(c);
  // OpenSSL queued an alert that says why: it leaves before the FIN.
  start_closing(c);
}

void Loop::tls_flush(Connection& c) {
  TlsLink& t = *tls_[c.index];
  OutputQueue* q = t.plain;
  if (!q || c.has(Connection::kTlsHandshake | Connection::kFdClosed)) return;
  // Small writes (frames of one iteration, shared broadcast frames) are copied together into full
  // records; a long run of bytes is encrypted where it lies. The stage is apart from the input
  // buffer: a handler reading its input may close (and so flush) another connection.
  uint8_t* stage = tls_buffer_.get() + kTlsPlainBuffer;
  size_t staged = 0;
  bool ok = true;
  iovec iov[OutputQueue::kMaxIov];
  while (ok && !q->empty()) {
    const size_t count = q->gather(iov, OutputQueue::kMaxIov, SIZE_MAX);
    size_t taken = 0;
    for (size_t i = 0; i < count && ok; ++i) {
      auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      size_t len = iov[i].iov_len;
      taken += len;
      while (len > 0 && ok) {
        size_t k;
        if (staged == 0 && len >= kTlsRecord) {
          k = len - len % kTlsRecord;
          ok = t.session.write(p, k) == TlsSession::Result::kDone;
        } else {
          k = std::min(len, kTlsRecord - staged);
          std::memcpy(stage + staged, p, k);
          staged += k;
          if (staged == kTlsRecord) {
            ok = t.session.write(stage, staged) == TlsSession::Result::kDone;
            staged = 0;
          }
        }
        p += k;
        len -= k;
      }
    }
    stats_.output_bytes_queued.sub(taken);
    q->consume(taken, pool_);  // shared frames are released here, once encrypted
  }
  if (ok && staged > 0) ok = t.session.write(stage, staged) == TlsSession::Result::kDone;
  if (!ok) {
    tls_failed(c, t);
    return;
  }
  recycle_queue(t.plain);
}

void Loop::tls_finish(Connection& c) {
  if (!c.has(Connection::kTls) || c.has(Connection::kFdClosed)) return;
  if (c.has(Connection::kTlsHandshake)) {
    tls_drop_plain(c);  // never encrypted: the peer was never verified
    return;
  }
  tls_flush(c);
  tls_[c.index]->session.shutdown();  // close_notify, then FIN (RFC 8446 §6.1)
}

void Loop::tls_drop_plain(Connection& c) {
  if (!c.has(Connection::kTls)) return;
  OutputQueue*& plain = tls_[c.index]->plain;
  if (!plain) return;
  stats_.output_bytes_queued.sub(plain->bytes());
  recycle_queue(plain);
}

void Loop::tls_release(Connection& c) {
  tls_drop_plain(c);
  tls_[c.index].reset();
}

}  // namespace ringcast
