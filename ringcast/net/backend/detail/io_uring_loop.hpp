#pragma once
// IoUringLoop: the io_uring backend of Loop.
//
// - One ring per shard, created on the shard's thread with SINGLE_ISSUER and DEFER_TASKRUN where the
//   kernel has them (task work then runs only when we enter the kernel, in one batch).
// - Multishot accept per listener; multishot receive per connection into a provided buffer ring
//   owned by the shard, so an idle connection holds no receive buffer. A buffer goes back to the
//   ring right after its bytes were handled (the handler keeps any partial message itself). A
//   multishot receive reads ahead of the handler: completions posted before the kernel sees a pause
//   still come, and the loop keeps their bytes. Each receive therefore ends after 8 buffers (Linux
//   6.16+; armed again while reading is wanted), which bounds those bytes per connection. With
//   DEFER_TASKRUN (the kernel writes into the buffers only inside io_uring_enter) the pages of the
//   buffers the next reads will not reach go back to the kernel once a second (RecvBuffers).
// - At most one send in flight per connection (send for one segment, sendmsg for several); every
//   SQE prepared during an iteration is submitted by one io_uring_enter, which also waits.
// - Wake-ups between shards are ring-to-ring messages (IORING_OP_MSG_RING), batched with that submit.
// - Each connection's socket also sits in the ring's registered file table (slot = its record index),
//   and its requests name the slot: the kernel then skips a descriptor lookup and reference per request.
//   The descriptor stays open for what needs one (socket options, peer address, shutdown).
// Each feature is detected at start-up, can be switched off (LoopOptions::io_uring_disable or
// RINGCAST_IO_URING_DISABLE), and has a fallback: single-shot accept, poll + recv, eventfd wake-ups.
#include <liburing.h>

#include <deque>
#include <memory>
#include <vector>

#include <ringcast/net/backend/detail/recv_buffers.hpp>
#include <ringcast/net/backend/loop.hpp>

namespace ringcast {

class IoUringLoop final : public Loop {
 public:
  // Throws std::system_error when the kernel refuses io_uring altogether.
  IoUringLoop(Shard& shard, const LoopOptions& options);
  ~IoUringLoop() override;

  std::string_view name() const noexcept override { return "io_uring"; }
  void submit() override;
  void wait(int64_t timeout_ns) override;
  void dispatch() override;
  void wake(Shard& target) override;
  uint32_t features() const noexcept { return features_; }

 protected:
  bool nonblocking_sockets() const noexcept override { return false; }
  void backend_listen(Listener& l) override;
  void backend_stop_listen(Listener& l) override;
  void backend_start_reading(Connection& c) override;
  void backend_stop_reading(Connection& c) override;
  void backend_send(Connection& c) override;
  void backend_close_fd(Connection& c) override;
  void backend_connect(Connection& c, const SocketAddress& to) override;
  bool backend_has_surplus() const noexcept override;
  void backend_trim() noexcept override;

 private:
  enum class Op : uint8_t { accept = 1, recv, poll_in, send, connect, cancel, wake_poll, msg, files };

  static uint64_t tag(Op op, uint32_t index, uint32_t gen) noexcept {
    return (uint64_t{index} << 32) | (uint64_t{gen & 0xffffff} << 8) | static_cast<uint8_t>(op);
  }
  uint64_t tag(Op op, const Connection& c) const noexcept { return tag(op, c.index, generation(c.index)); }

  void setup_ring();
  void setup_buffer_ring();
  void setup_fixed_files();
  io_uring_sqe* get_sqe();
  void arm_wake_poll();
  void handle(const io_uring_cqe& cqe);
  void on_accept(const io_uring_cqe& cqe, uint32_t listener, uint32_t arm);
  void on_recv(Connection& c, const io_uring_cqe& cqe);
  void on_poll_in(Connection& c, const io_uring_cqe& cqe);
  void on_send(Connection& c, const io_uring_cqe& cqe);
  void cancel(uint64_t target_tag);
  void return_buffer(unsigned bid) noexcept;
  void target_file(io_uring_sqe* sqe, const Connection& c) noexcept;
  void register_file(const Connection& c);
  void unregister_file(const Connection& c);
  void update_file_slot(uint32_t slot, int fd);

  io_uring ring_{};
  uint32_t features_ = 0;
  bool has_ext_arg_ = false;
  // Provided buffer ring (group 0): `recv_buffers` buffers of `recv_buffer_size` bytes.
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::unique_ptr<RecvBuffers> buffers_;
  size_t buf_ring_bytes_ = 0;
  unsigned buf_mask_ = 0;
  unsigned buf_returned_ = 0;  // added since the last advance
  uint16_t buf_head_ = 0;      // the kernel's head: buffers it has taken (completions handled)
  std::vector<uint16_t> buf_waiting_;  // backend_trim's scratch: the ring's buffers from the head
  std::vector<uint8_t> scratch_;  // poll + recv fallback reads here
  std::vector<uint32_t> accept_arm_;  // per listener: arm generation, so stale accept CQEs are known
  std::deque<SocketAddress> connect_addrs_;  // the kernel reads them at submit time
  // Registered file table: `fixed_slots_` slots; fixed_gen_[i] is the generation of the record whose
  // socket slot i holds (0: none), fixed_fds_ the descriptors the kernel reads at submit time.
  uint32_t fixed_slots_ = 0;
  std::vector<uint32_t> fixed_gen_;
  std::deque<int> fixed_fds_;
  bool wake_armed_ = false;
  unsigned collected_ = 0;  // completions the last wait() found, for dispatch()
};

}  // namespace ringcast
