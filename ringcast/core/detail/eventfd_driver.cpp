#include <ringcast/core/detail/eventfd_driver.hpp>

#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>

#include <ringcast/core/shard.hpp>

namespace ringcast {

void EventfdDriver::wait(int64_t timeout_ns) {
  pollfd pfd{.fd = shard_.wake_fd(), .events = POLLIN, .revents = 0};
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    tsp = &ts;
  }
  if (::ppoll(&pfd, 1, tsp, nullptr) > 0) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(shard_.wake_fd(), &count, sizeof count);
  }
}

}  // namespace ringcast
