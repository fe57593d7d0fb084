#include <system_error>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/detail/epoll_loop.hpp>
#include <ringcast/net/backend/detail/io_uring_loop.hpp>
#include <ringcast/net/backend/loop.hpp>

namespace ringcast {

std::unique_ptr<Loop> Loop::create(Shard& shard, const LoopOptions& options) {
  if (options.make_loop) return options.make_loop(shard, options);
  const bool first = shard.id() == 0;  // one start-up line for the process, not one per shard
  if (options.backend != Backend::epoll) {
    try {
      auto loop = std::make_unique<IoUringLoop>(shard, options);
      if (first) {
        log::info("backend io_uring, {} shard(s); kernel features in use: {}", shard.shard_count(),
                  describe_io_uring_features(loop->features()));
      }
      return loop;
    } catch (const std::system_error& e) {
      if (options.backend == Backend::io_uring) throw;
      if (first) log::warn("io_uring unavailable ({}); falling back to epoll", e.what());
    }
  }
  auto loop = std::make_unique<EpollLoop>(shard, options);
  if (first) log::info("backend epoll, {} shard(s)", shard.shard_count());
  return loop;
}

}  // namespace ringcast
