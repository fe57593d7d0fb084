#include <ringcast/core/runtime.hpp>

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <atomic>
#include <exception>
#include <latch>
#include <mutex>
#include <system_error>

#include <ringcast/core/detail/eventfd_driver.hpp>
#include <ringcast/core/log.hpp>

namespace ringcast {
namespace {

// The signals run() takes through its signalfd (and every shard thread blocks).
sigset_t stop_signals(bool hangup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (hangup) sigaddset(&set, SIGHUP);
  return set;
}

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
    log::warn("could not pin to CPU {}: {}", cpu, std::strerror(rc));
  }
}

}  // namespace

std::vector<int> Runtime::allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {
  const std::vector<int> cpus = allowed_cpus();
  const ShardOptions& o = options_.shards;
  const unsigned n = o.count ? o.count : static_cast<unsigned>(cpus.size());
  mesh_ = std::make_unique<Mesh>(n, o.mesh_capacity);
  for (unsigned i = 0; i < n; ++i) {
    const int cpu = o.pin ? cpus[i % cpus.size()] : -1;
    shards_.push_back(std::make_unique<Shard>(*this, *mesh_, i, cpu));
  }
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Runtime::~Runtime() {
  if (!threads_.empty()) {
    stop();
    join();
  }
  ::close(stop_fd_);
}

void Runtime::start() {
  if (started_) return;
  started_ = true;
  // Shard threads inherit the creating thread's signal mask: with the stop signals blocked there,
  // only the controlling thread's signalfd ever sees them.
  const sigset_t signals = stop_signals(static_cast<bool>(options_.on_hangup));
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  std::latch started(shard_count());
  std::mutex error_mutex;  // start-up only: collects the first shard that failed to start
  std::exception_ptr error;
  const int64_t stop_timeout_ns = std::chrono::nanoseconds(options_.shards.stop_timeout).count();
  const int64_t yield_interval_ns = std::chrono::nanoseconds(options_.shards.yield_interval).count();
  for (auto& shard_ptr : shards_) {
    Shard* shard = shard_ptr.get();
    threads_.emplace_back([this, shard, &started, &error_mutex, &error, stop_timeout_ns, yield_interval_ns] {
      pin_to_cpu(shard->cpu());
      log::set_thread_shard(static_cast<int>(shard->id()));
      std::unique_ptr<EventDriver> driver;
      try {
        driver = options_.make_driver ? options_.make_driver(*shard) : std::make_unique<EventfdDriver>(*shard);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        started.count_down();
        return;
      }
      shard->run(std::move(driver), [&](Shard& s) {
        try {
          if (options_.on_start) options_.on_start(s);
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          s.request_stop();
        }
        started.count_down();
      }, stop_timeout_ns, yield_interval_ns);
    });
  }
  started.wait();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error) {
    stop();
    join();
    std::rethrow_exception(error);
  }
}

void Runtime::stop() noexcept {
  for (auto& shard : shards_) shard->request_stop();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
}

void Runtime::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  for (auto& shard : shards_) shard->discard_inbound();
}

int Runtime::run() {
  const sigset_t signals = stop_signals(static_cast<bool>(options_.on_hangup));
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes is an error value, never a signal
  const int sfd = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  start();

  // Wait for the first signal (or stop()), then for the shards to drain; a second signal cuts the
  // drain short. SIGTERM with on_terminate starts the application's drain, which ends in stop().
  bool stopping = false;
  bool terminating = false;
  auto all_exited = [this] {
    for (auto& shard : shards_) {
      if (!shard->exited()) return false;
    }
    return true;
  };
  while (!(stopping && all_exited())) {
    pollfd fds[2] = {{.fd = sfd, .events = POLLIN, .revents = 0}, {.fd = stop_fd_, .events = POLLIN, .revents = 0}};
    ::poll(fds, 2, stopping ? 20 : -1);
    signalfd_siginfo info{};
    while (::read(sfd, &info, sizeof info) == sizeof info) {
      const char* name = strsignal(static_cast<int>(info.ssi_signo));
      if (info.ssi_signo == SIGHUP) {
        options_.on_hangup();
      } else if (!stopping && !terminating && info.ssi_signo == SIGTERM && options_.on_terminate) {
        log::info("{}: draining", name);
        terminating = true;
        options_.on_terminate();
      } else if (!stopping && !terminating) {
        log::info("{}: stopping", name);
        stopping = true;
        stop();
      } else {
        log::warn("{} again: stopping now", name);
        stopping = true;
        stop();
        for (auto& shard : shards_) shard->force_stop();
      }
    }
    if (fds[1].revents & POLLIN) {  // stop() was called; drain the eventfd so poll() sleeps again
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = ::read(stop_fd_, &count, sizeof count);
      stopping = true;
    }
  }
  join();
  ::close(sfd);
  log::info("stopped");
  return 0;
}

}  // namespace ringcast
