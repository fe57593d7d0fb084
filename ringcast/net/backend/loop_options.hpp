#pragma once
// LoopOptions: how a shard's event loop is built. Filled with designated initializers; every field
// has a default that suits a WebSocket server.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast {

struct NetStats;
class TlsContext;
class Loop;
class Shard;

enum class Backend : uint8_t { automatic, io_uring, epoll };

// Optional io_uring kernel features; each can be switched off to exercise its fallback.
enum IoUringFeature : uint32_t {
  kFeatureSingleIssuer = 1 << 0,    // IORING_SETUP_SINGLE_ISSUER (6.0)
  kFeatureDeferTaskrun = 1 << 1,    // IORING_SETUP_DEFER_TASKRUN (6.1); else COOP_TASKRUN (5.19)
  kFeatureAcceptMultishot = 1 << 2, // one accept request yields every connection (5.19)
  kFeatureRecvMultishot = 1 << 3,   // one receive request per connection, into the buffer ring (6.0)
  kFeatureBufRing = 1 << 4,         // shard-owned provided buffer ring (5.19); else poll + recv
  kFeatureMsgRing = 1 << 5,         // ring-to-ring wake-ups (5.18); else eventfd
  kFeatureRegisteredRing = 1 << 6,  // registered ring fd for io_uring_enter (5.18)
  kFeatureFixedFiles = 1 << 7,      // connections also in a registered file table: no fget/fput per op (5.19)
  kFeatureRecvBundle = 1 << 8,      // a receive fills several ring buffers under one completion (6.10)
  kFeatureAll = (1 << 9) - 1,
};

std::optional<Backend> parse_backend(std::string_view name) noexcept;
std::string_view backend_name(Backend b) noexcept;
// "all", "none" or a comma list of: single_issuer, defer_taskrun, accept_multishot, recv_multishot,
// buf_ring, msg_ring, registered_ring, fixed_files, recv_bundle. Returns nullopt on an unknown name.
std::optional<uint32_t> parse_io_uring_features(std::string_view list) noexcept;
std::string describe_io_uring_features(uint32_t features);

// Accept-rate limits of a server's listeners, all off by default. Each is the server's figure: every
// shard enforces its share (the figure divided by the shard count, at least 1), the kernel spreading
// connections evenly over the shards' listeners.
struct AcceptLimits {
  // Connections accepted per second, and at once (0: one second's worth). Beyond, shards stop accepting
  // until tokens are back: new connections wait in the kernel's backlog, and past it clients retry their
  // SYNs, so a reconnect storm (every client of a restarted node at once) is taken at this pace rather
  // than all at once. 0: no limit.
  double per_second = 0;
  double burst = 0;
  // Connections one client address (an IPv4 address, an IPv6 /64) may open per second, and at once (0:
  // one second's worth). Beyond, a connection is reset as soon as it is accepted. 0: no limit.
  double per_address_per_second = 0;
  double per_address_burst = 0;
  size_t addresses = size_t{1} << 16;  // addresses each shard keeps track of (ringcast/net/address_buckets.hpp)

  bool any() const noexcept { return per_second > 0 || per_address_per_second > 0; }
};

struct LoopOptions {
  Backend backend = Backend::automatic;
  // io_uring features to leave off, on top of what the kernel lacks. The environment variable
  // RINGCAST_IO_URING_DISABLE (same syntax) adds to this.
  uint32_t io_uring_disable = 0;
  unsigned ring_entries = 4096;          // submission queue size (completion queue: twice that)
  unsigned recv_buffers = 1024;          // provided buffers per shard (a power of two)
  unsigned recv_buffer_size = 16 * 1024; // bytes each; also epoll's per-shard read buffer
  size_t output_high_water = 1 << 20;    // stop reading a connection with more output queued than this
  size_t output_low_water = 256 << 10;   // ... and resume (and call on_drain) below this
  size_t max_send_bytes = 1 << 20;       // bytes gathered into one send
  size_t max_leftover = 64 << 20;        // unconsumed input a handler may leave before the connection is dropped
  unsigned close_timeout_ms = 5000;      // graceful close: time to flush output and see the peer's FIN
  int listen_backlog = 4096;
  // Server TLS (ringcast/net/tls/tls_context.hpp): when set, every listener of the loop speaks TLS. Shared,
  // read-only, by every shard; a reload gives each loop a new one (Loop::set_server_tls).
  std::shared_ptr<const TlsContext> tls;
  unsigned tls_handshake_timeout_ms = 10'000;  // an accepted TLS connection not through its handshake by then is dropped
  AcceptLimits accept_limits;
  // Where the loop counts (NetStats): storage that outlives the loop, so other threads may read it
  // while the loop goes away. Null: the loop's own.
  NetStats* stats = nullptr;
  // Makes each shard's loop in place of the io_uring and epoll backends, on that shard's thread: a
  // loop whose I/O is scripted rather than done on sockets, for the whole-server fuzz target and its
  // tests (tests/support/scripted_loop.hpp). Empty: `backend` decides.
  std::function<std::unique_ptr<Loop>(Shard&, const LoopOptions&)> make_loop;
};

}  // namespace ringcast
