#include <ringcast/net/backend/detail/io_uring_loop.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/detail/io_uring_compat.hpp>

namespace ringcast {
namespace {

// The kernel version a feature arrived in, for features whose absence shows only at run time.
struct KernelVersion {
  int major = 0, minor = 0;
  bool at_least(int ma, int mi) const noexcept { return major > ma || (major == ma && minor >= mi); }
};

KernelVersion kernel_version() noexcept {
  utsname u{};
  KernelVersion v;
  if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &v.major, &v.minor);
  return v;
}

uint32_t kernel_features() noexcept {
  const KernelVersion v = kernel_version();
  uint32_t f = 0;
  if (v.at_least(6, 0)) f |= kFeatureSingleIssuer | kFeatureRecvMultishot;
  if (v.at_least(6, 1)) f |= kFeatureDeferTaskrun;
  if (v.at_least(5, 19)) f |= kFeatureAcceptMultishot | kFeatureBufRing | kFeatureFixedFiles;
  if (v.at_least(5, 18)) f |= kFeatureMsgRing | kFeatureRegisteredRing;
  if (v.at_least(6, 10)) f |= kFeatureRecvBundle;
  return f;
}

uint32_t env_disabled() noexcept {
  const char* env = std::getenv("RINGCAST_IO_URING_DISABLE");
  if (!env) return 0;
  if (auto bits = parse_io_uring_features(env)) return *bits;
  log::warn("RINGCAST_IO_URING_DISABLE: unknown feature list '{}', ignored", env);
  return 0;
}

constexpr unsigned kBufferGroup = 0;

// Registered file table slots per shard (bounded by RLIMIT_NOFILE): the kernel keeps 8 bytes per slot;
// connections whose record index lies beyond use their descriptor.
constexpr uint32_t kMaxFixedFiles = 1 << 16;

// A multishot receive ends (and is armed again while reading is wanted) after this many buffers'
// worth of bytes: what a connection's completions can bring after reading was paused.
constexpr uint32_t kRecvBuffersPerArm = 8;

// Linux 6.16+: a multishot receive ends once it has received `bytes` in all (sqe->optlen; liburing
// 2.3's header names that word addr_len and __pad3). Earlier kernels ignore the word for a receive.
void limit_multishot(io_uring_sqe* sqe, uint32_t bytes) noexcept {
  static_assert(offsetof(io_uring_sqe, __pad3) == offsetof(io_uring_sqe, addr_len) + 2, "optlen is one 32-bit word");
  std::memcpy(reinterpret_cast<char*>(sqe) + offsetof(io_uring_sqe, addr_len), &bytes, sizeof bytes);
}

}  // namespace

IoUringLoop::IoUringLoop(Shard& shard, const LoopOptions& options) : Loop(shard, options, Backend::io_uring) {
  features_ = kFeatureAll & kernel_features() & ~options.io_uring_disable & ~env_disabled();
  if (!(features_ & kFeatureSingleIssuer)) features_ &= ~kFeatureDeferTaskrun;  // needs it
  setup_ring();
  if (features_ & kFeatureBufRing) setup_buffer_ring();
  if (features_ & kFeatureFixedFiles) setup_fixed_files();
  if (!(features_ & kFeatureBufRing)) features_ &= ~kFeatureRecvMultishot;  // it reads into the ring
  if (!(features_ & kFeatureRecvMultishot)) features_ &= ~kFeatureRecvBundle;
  if (!(features_ & kFeatureRecvMultishot)) scratch_.resize(options.recv_buffer_size);
  if (features_ & kFeatureMsgRing) shard.set_wake_handle(ring_.ring_fd);
  log::debug("io_uring ring ready: features {}", describe_io_uring_features(features_));
}

IoUringLoop::~IoUringLoop() {
  shard_.set_wake_handle(-1);
  // Connections and listeners are closed by ~Loop; the ring goes last (it cancels what is left).
  io_uring_queue_exit(&ring_);
  if (buf_ring_) ::munmap(buf_ring_, buf_ring_bytes_);
}

void IoUringLoop::setup_ring() {
  // Try the best configuration first and drop flags one at a time when the kernel refuses them.
  for (;;) {
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = options_.ring_entries * 2;
    if (features_ & kFeatureSingleIssuer) p.flags |= IORING_SETUP_SINGLE_ISSUER;
    if (features_ & kFeatureDeferTaskrun) {
      p.flags |= IORING_SETUP_DEFER_TASKRUN;
    } else {
      p.flags |= IORING_SETUP_COOP_TASKRUN;
    }
    const int rc = io_uring_queue_init_params(options_.ring_entries, &ring_, &p);
    if (rc == 0) {
      has_ext_arg_ = (p.features & IORING_FEAT_EXT_ARG) != 0;
      if (!(p.features & IORING_FEAT_RECVSEND_BUNDLE)) features_ &= ~kFeatureRecvBundle;
      break;
    }
    if (rc == -EINVAL && (features_ & kFeatureDeferTaskrun)) {
      features_ &= ~kFeatureDeferTaskrun;
    } else if (rc == -EINVAL && (features_ & kFeatureSingleIssuer)) {
      features_ &= ~kFeatureSingleIssuer;
    } else {
      throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
    }
  }
  if (features_ & kFeatureMsgRing) {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (!probe || !io_uring_opcode_supported(probe, IORING_OP_MSG_RING)) features_ &= ~kFeatureMsgRing;
    if (probe) io_uring_free_probe(probe);
  }
  if ((features_ & kFeatureRegisteredRing) && io_uring_register_ring_fd(&ring_) < 0) {
    features_ &= ~kFeatureRegisteredRing;
  }
}

void IoUringLoop::setup_buffer_ring() {
  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves and register it.
  const unsigned count = options_.recv_buffers;
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    log::warn("recv_buffers must be a power of two up to 32768; not using a buffer ring");
    features_ &= ~kFeatureBufRing;
    return;
  }
  buf_ring_bytes_ = count * sizeof(io_uring_buf);
  void* ring_mem = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_mem == MAP_FAILED) {
    features_ &= ~kFeatureBufRing;
    return;
  }
  try {
    // Buffer pages are touched only when the kernel first fills them.
    buffers_ = std::make_unique<RecvBuffers>(count, options_.recv_buffer_size);
  } catch (const std::bad_alloc&) {
    ::munmap(ring_mem, buf_ring_bytes_);
    features_ &= ~kFeatureBufRing;
    return;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_mem);
  reg.ring_entries = count;
  reg.bgid = kBufferGroup;
  if (io_uring_register_buf_ring(&ring_, &reg, 0) < 0) {
    ::munmap(ring_mem, buf_ring_bytes_);
    buf_ring_ = nullptr;
    buffers_.reset();
    features_ &= ~kFeatureBufRing;
    return;
  }
  buf_mask_ = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_->data(i), options_.recv_buffer_size, static_cast<unsigned short>(i),
                          buf_mask_, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
}

void IoUringLoop::setup_fixed_files() {
  rlimit rl{};
  const rlim_t limit = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
  fixed_slots_ = limit < kMaxFixedFiles ? static_cast<uint32_t>(limit) : kMaxFixedFiles;
  if (fixed_slots_ == 0 || io_uring_register_files_sparse(&ring_, fixed_slots_) < 0) {
    fixed_slots_ = 0;
    features_ &= ~kFeatureFixedFiles;
  }
}

// Registers c's socket in its slot when the slot does not hold it yet: an update request queued ahead
// of the request that will name the slot, so the kernel, which takes requests in order, installs it first.
void IoUringLoop::register_file(const Connection& c) {
  if (c.index >= fixed_slots_) return;
  if (c.index >= fixed_gen_.size()) fixed_gen_.resize(c.index + 1, 0);
  if (fixed_gen_[c.index] == generation(c.index)) return;
  update_file_slot(c.index, c.fd);
  fixed_gen_[c.index] = generation(c.index);
}

// Empties c's slot, which otherwise keeps the socket open after close(). Requests in flight keep their
// own reference until they complete.
void IoUringLoop::unregister_file(const Connection& c) {
  if (c.index >= fixed_gen_.size() || fixed_gen_[c.index] != generation(c.index)) return;
  update_file_slot(c.index, -1);
  fixed_gen_[c.index] = 0;
}

void IoUringLoop::update_file_slot(uint32_t slot, int fd) {
  io_uring_sqe* sqe = get_sqe();
  fixed_fds_.push_back(fd);
  io_uring_prep_files_update(sqe, &fixed_fds_.back(), 1, static_cast<int>(slot));
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;  // a completion only when it fails
  io_uring_sqe_set_data64(sqe, tag(Op::files, slot, 0));
}

// A request prepared with c.fd names c's registered slot instead, when c has one (register_file first).
void IoUringLoop::target_file(io_uring_sqe* sqe, const Connection& c) noexcept {
  if (c.index < fixed_gen_.size() && fixed_gen_[c.index] == generation(c.index)) {
    sqe->fd = static_cast<int>(c.index);
    sqe->flags |= IOSQE_FIXED_FILE;
  }
}

void IoUringLoop::return_buffer(unsigned bid) noexcept {
  ++buf_head_;  // the kernel took the buffers in ring order
  buffers_->filled(bid);
  io_uring_buf_ring_add(buf_ring_, buffers_->data(bid), options_.recv_buffer_size, static_cast<unsigned short>(bid),
                        buf_mask_, static_cast<int>(buf_returned_++));
}

bool IoUringLoop::backend_has_surplus() const noexcept {
  return buffers_ && (features_ & kFeatureDeferTaskrun) && buffers_->has_surplus();
}

void IoUringLoop::backend_trim() noexcept {
  // Without DEFER_TASKRUN the kernel may write into a buffer at any return to user space; with it,
  // only inside io_uring_enter. A completion not yet handled holds bytes in its buffer: then the
  // next trim.
  if (!backend_has_surplus() || buf_returned_ || io_uring_cq_ready(&ring_) || io_uring_cq_has_overflow(&ring_)) return;
  buf_waiting_.clear();
  for (uint16_t pos = buf_head_; pos != buf_ring_->tail; ++pos) buf_waiting_.push_back(buf_ring_->bufs[pos & buf_mask_].bid);
  buffers_->trim(buf_waiting_);
}

io_uring_sqe* IoUringLoop::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    // The submission queue is full mid-iteration: hand it to the kernel now and continue.
    io_uring_submit(&ring_);
    stats_.submits.add();
    connect_addrs_.clear();
    fixed_fds_.clear();
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void IoUringLoop::cancel(uint64_t target_tag) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, target_tag, 0);
  io_uring_sqe_set_data64(sqe, tag(Op::cancel, 0, 0));
}

// ---------------------------------------------------------------------------------------------
// The loop

void IoUringLoop::arm_wake_poll() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_poll_add(sqe, shard_.wake_fd(), POLLIN);
  io_uring_sqe_set_data64(sqe, tag(Op::wake_poll, 0, 0));
  wake_armed_ = true;
}

void IoUringLoop::submit() {
  stats_.submits.add();
  io_uring_submit(&ring_);
}

void IoUringLoop::wait(int64_t timeout_ns) {
  if (!wake_armed_) arm_wake_poll();
  stats_.submits.add();
  if (timeout_ns == 0) {
    io_uring_submit_and_get_events(&ring_);
  } else if (timeout_ns < 0) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{.tv_sec = timeout_ns / 1'000'000'000, .tv_nsec = timeout_ns % 1'000'000'000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  connect_addrs_.clear();
  fixed_fds_.clear();
  collected_ = io_uring_cq_ready(&ring_);
}

void IoUringLoop::dispatch() {
  // Completions posted after the wait (rings without DEFER_TASKRUN post them at any time) wait for
  // the next iteration, which does not block while they are there.
  unsigned head;
  unsigned count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    if (count == collected_) break;
    handle(*cqe);
    ++count;
  }
  collected_ = 0;
  io_uring_cq_advance(&ring_, count);
  if (buf_returned_) {
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buf_returned_));
    buf_returned_ = 0;
  }
}

void IoUringLoop::handle(const io_uring_cqe& cqe) {
  const Op op = static_cast<Op>(cqe.user_data & 0xff);
  const auto index = static_cast<uint32_t>(cqe.user_data >> 32);
  const auto gen = static_cast<uint32_t>((cqe.user_data >> 8) & 0xffffff);
  switch (op) {
    case Op::accept:
      on_accept(cqe, index, gen);
      return;
    case Op::wake_poll: {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(shard_.wake_fd(), &count, sizeof count);
      wake_armed_ = false;
      return;
    }
    case Op::cancel:
    case Op::msg:
      return;  // nothing to do: the cancelled request reports itself; a message only wakes us
    case Op::files:
      // Only failures complete; the slot's requests then fail with EBADF and close their connection.
      log::warn("io_uring: registered file slot {} not updated: {}", index, std::strerror(-cqe.res));
      return;
    default:
      break;
  }
  // Every other operation references a connection record, which lives while its ops count > 0.
  if (!live(index) || (generation(index) & 0xffffff) != gen) {
    // Cannot happen while ops are counted; a receive buffer must still go back to the ring.
    if (cqe.flags & IORING_CQE_F_BUFFER) return_buffer(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    return;
  }
  Connection& c = *connection(index, generation(index));
  switch (op) {
    case Op::recv:
      on_recv(c, cqe);
      break;
    case Op::poll_in:
      on_poll_in(c, cqe);
      break;
    case Op::send:
      on_send(c, cqe);
      break;
    case Op::connect:
      --c.ops;
      connected(c, cqe.res);
      break;
    default:
      break;
  }
  maybe_release(c);
}

// ---------------------------------------------------------------------------------------------
// Accepting

void IoUringLoop::backend_listen(Listener& l) {
  if (accept_arm_.size() <= static_cast<size_t>(l.id)) accept_arm_.resize(l.id + 1, 0);
  const uint32_t arm = ++accept_arm_[l.id];
  io_uring_sqe* sqe = get_sqe();
  // A multishot accept takes the whole backlog before the loop can pause it: under an accept rate
  // (AcceptLimits::per_second) one connection is taken at a time.
  if ((features_ & kFeatureAcceptMultishot) && options_.accept_limits.per_second <= 0) {
    io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe, tag(Op::accept, static_cast<uint32_t>(l.id), arm));
  l.armed = true;
}

void IoUringLoop::backend_stop_listen(Listener& l) {
  cancel(tag(Op::accept, static_cast<uint32_t>(l.id), accept_arm_[l.id]));
  l.armed = false;
}

void IoUringLoop::on_accept(const io_uring_cqe& cqe, uint32_t id, uint32_t arm) {
  Listener& l = *listeners_[id];
  const bool current = (accept_arm_[id] & 0xffffff) == arm && l.armed;
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (current && !more) l.armed = false;
  if (cqe.res >= 0) {
    if (l.closed) {
      ::close(cqe.res);
    } else {
      accept_connection(l, cqe.res);
    }
  } else if (cqe.res == -EINVAL && current && (features_ & kFeatureAcceptMultishot)) {
    log::info("io_uring: multishot accept refused by the kernel; using single-shot accept");
    features_ &= ~kFeatureAcceptMultishot;
  } else if (cqe.res != -ECANCELED && current) {
    accept_failed(l, cqe.res);
  }
  if (current && !l.armed && !l.closed && !l.retry.armed()) backend_listen(l);
}

// ---------------------------------------------------------------------------------------------
// Reading

void IoUringLoop::backend_start_reading(Connection& c) {
  if (features_ & kFeatureFixedFiles) register_file(c);
  io_uring_sqe* sqe = get_sqe();
  if (features_ & kFeatureRecvMultishot) {
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    if (features_ & kFeatureRecvBundle) sqe->ioprio |= IORING_RECVSEND_BUNDLE;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    limit_multishot(sqe, kRecvBuffersPerArm * options_.recv_buffer_size);
    io_uring_sqe_set_data64(sqe, tag(Op::recv, c));
  } else {
    io_uring_prep_poll_add(sqe, c.fd, POLLIN | POLLRDHUP);
    io_uring_sqe_set_data64(sqe, tag(Op::poll_in, c));
  }
  target_file(sqe, c);
  c.flags |= Connection::kRecvArmed;
  ++c.ops;
}

void IoUringLoop::backend_stop_reading(Connection& c) {
  if (c.has(Connection::kRecvCancel)) return;
  c.flags |= Connection::kRecvCancel;
  cancel(tag((features_ & kFeatureRecvMultishot) ? Op::recv : Op::poll_in, c));
}

void IoUringLoop::on_recv(Connection& c, const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    --c.ops;
    c.flags &= ~(Connection::kRecvArmed | Connection::kRecvCancel);
  }
  const bool closed = c.has(Connection::kFdClosed);
  if (cqe.res > 0) {
    stats_.reads.add();
    // A bundle's bytes fill the buffers the kernel took from the ring's head in turn, each full but
    // the last; the completion names the first.
    unsigned bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    for (size_t left = static_cast<size_t>(cqe.res);;) {
      const size_t n = std::min(left, size_t{options_.recv_buffer_size});
      if (!c.has(Connection::kFdClosed)) received(c, buffers_->data(bid), n);
      return_buffer(bid);
      if ((left -= n) == 0) break;
      bid = buf_ring_->bufs[buf_head_ & buf_mask_].bid;
    }
  } else {
    // A buffer taken without bytes goes back all the same: the ring's head counts it.
    if (cqe.flags & IORING_CQE_F_BUFFER) return_buffer(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (cqe.res == 0) {
      if (!closed) peer_closed(c);
    } else if (cqe.res == -ENOBUFS) {
      stats_.no_buffers.add();  // the ring ran dry this batch; buffers return before the re-arm below
    } else if (cqe.res != -ECANCELED && !closed) {
      io_failed(c, cqe.res);
    }
  }
  if (!more && !c.has(Connection::kFdClosed)) update_reading(c);
}

void IoUringLoop::on_poll_in(Connection& c, const io_uring_cqe& cqe) {
  --c.ops;
  c.flags &= ~(Connection::kRecvArmed | Connection::kRecvCancel);
  if (c.has(Connection::kFdClosed) || cqe.res == -ECANCELED) return;
  if (cqe.res < 0) {
    io_failed(c, cqe.res);
    return;
  }
  const ssize_t n = ::recv(c.fd, scratch_.data(), scratch_.size(), MSG_DONTWAIT);
  stats_.reads.add();
  if (n > 0) {
    received(c, scratch_.data(), static_cast<size_t>(n));
  } else if (n == 0) {
    peer_closed(c);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    io_failed(c, -errno);
  }
  if (!c.has(Connection::kFdClosed)) update_reading(c);
}

// ---------------------------------------------------------------------------------------------
// Writing, connecting, closing

void IoUringLoop::backend_send(Connection& c) {
  if (features_ & kFeatureFixedFiles) register_file(c);
  io_uring_sqe* sqe = get_sqe();
  OutputQueue& q = *c.out;
  if (q.segments() == 1) {
    std::span<const uint8_t> f = q.front();
    const size_t n = f.size() < options_.max_send_bytes ? f.size() : options_.max_send_bytes;
    io_uring_prep_send(sqe, c.fd, f.data(), n, MSG_NOSIGNAL);
  } else {
    io_uring_prep_sendmsg(sqe, c.fd, &q.prepare_send(options_.max_send_bytes), MSG_NOSIGNAL);
  }
  target_file(sqe, c);
  io_uring_sqe_set_data64(sqe, tag(Op::send, c));
  c.flags |= Connection::kSendInFlight;
  ++c.ops;
}

void IoUringLoop::on_send(Connection& c, const io_uring_cqe& cqe) {
  --c.ops;
  c.flags &= ~Connection::kSendInFlight;
  if (cqe.res > 0) {
    sent(c, static_cast<size_t>(cqe.res));
  } else if (!c.has(Connection::kFdClosed)) {
    io_failed(c, cqe.res == 0 ? -EPIPE : cqe.res);
  } else {
    sent(c, 0);  // lets the closed record drop its queue
  }
}

void IoUringLoop::backend_connect(Connection& c, const SocketAddress& to) {
  connect_addrs_.push_back(to);
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_connect(sqe, c.fd, connect_addrs_.back().data(), connect_addrs_.back().size());
  io_uring_sqe_set_data64(sqe, tag(Op::connect, c));
  ++c.ops;
}

void IoUringLoop::backend_close_fd(Connection& c) {
  // The kernel holds the socket while requests reference it: cancel them (a send to a peer that never
  // reads would otherwise wait forever). The record stays until each has reported (ops == 0).
  if (c.has(Connection::kRecvArmed)) backend_stop_reading(c);
  if (c.has(Connection::kSendInFlight)) cancel(tag(Op::send, c));
  unregister_file(c);
  ::close(c.fd);
}

void IoUringLoop::wake(Shard& target) {
  const int ring_fd = target.wake_handle();
  if (!(features_ & kFeatureMsgRing) || ring_fd < 0) {
    Loop::wake(target);
    return;
  }
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_msg_ring(sqe, ring_fd, 0, tag(Op::msg, 0, 0), 0);
  io_uring_sqe_set_data64(sqe, tag(Op::cancel, 0, 0));  // our own completion: nothing to do
}

}  // namespace ringcast
