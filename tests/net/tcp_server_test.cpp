// Integration tests of the event loops through a real TCP echo server on 127.0.0.1, run once per
// backend (see tests/CMakeLists.txt). Clients are raw sockets.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include "tests/support/echo_clients.hpp"
#include "tests/support/net_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<TcpServer> start_server(TcpServer::HandlerFactory make_handler, unsigned shards,
                                        LoopOptions loop = test::loop_options()) {
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = shards;
  o.loop = loop;
  auto server = std::make_unique<TcpServer>(o, std::move(make_handler));
  server->start();
  return server;
}

std::unique_ptr<TcpServer> start_echo_server(unsigned shards = 2, LoopOptions loop = test::loop_options()) {
  return start_server([](Loop& l) { return std::make_unique<TcpEchoHandler>(l); }, shards, loop);
}

// The largest receive buffer TCP autotuning may give a socket (the third field of tcp_rmem).
uint64_t max_receive_buffer() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_rmem");
  uint64_t min = 0, def = 0, max = 6 << 20;
  in >> min >> def >> max;
  return max;
}

bool server_has_no_connections(TcpServer& s) {
  return test::eventually([&] { return s.total(&NetStats::connections_open) == 0; }, 15s);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("tcp server: 2,000 concurrent clients echo 100 messages of 1 B to 64 KiB each, every byte checked") {
  auto server = start_echo_server();
  test::EchoPlan plan;
  plan.clients = 2000;
  plan.messages = 100;
  plan.seed = 7;
  const test::EchoOutcome out = test::run_echo_clients(server->port(), plan);
  CHECK_FALSE(out.timed_out);
  CHECK(out.corrupt == 0);
  CHECK(out.failed == 0);
  CHECK(out.finished == plan.clients);
  MESSAGE("echoed and checked ", out.bytes / (1 << 20), " MiB");
  CHECK(server_has_no_connections(*server));
  CHECK(server->total(&NetStats::output_bytes_queued) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tcp server: clients that close mid-stream or reset leave nothing behind") {
  auto server = start_echo_server();
  std::vector<int> fds;
  std::vector<uint8_t> payload(200 * 1024, 0x5a);
  for (int i = 0; i < 300; ++i) {
    const int fd = test::connect_blocking(server->port());
    REQUIRE(fd >= 0);
    test::set_nonblocking(fd);
    // Part of a large message: the server is mid-echo, with output queued, when the client goes.
    [[maybe_unused]] ssize_t n = ::send(fd, payload.data(), payload.size() / (1 + i % 4), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  REQUIRE(test::eventually([&] { return server->total(&NetStats::connections_open) == 300; }));
  for (size_t i = 0; i < fds.size(); ++i) {
    if (i % 2) {
      linger lg{.l_onoff = 1, .l_linger = 0};  // close with RST
      ::setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    ::close(fds[i]);
  }
  CHECK(server_has_no_connections(*server));
  CHECK(server->total(&NetStats::output_bytes_queued) == 0);
  // And it still serves.
  test::EchoPlan plan;
  plan.clients = 10;
  plan.messages = 5;
  CHECK(test::run_echo_clients(server->port(), plan).finished == 10);
  server->stop();
  server->join();
}

TEST_CASE("tcp server: clients one after another in the same connection record get their own bytes and the server's FIN") {
  // Each client takes the record (and on io_uring the registered file slot) the previous one left: its
  // echo must come from its own socket, and the server's close must reach it, not stay held by the slot.
  auto server = start_echo_server(1);
  for (int i = 0; i < 200; ++i) {
    const int fd = test::connect_blocking(server->port());
    REQUIRE(fd >= 0);
    test::set_recv_timeout(fd, 5000);
    const std::string message = "client " + std::to_string(i);
    REQUIRE(::send(fd, message.data(), message.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(message.size()));
    std::string echoed(message.size(), '\0');
    test::recv_exact(fd, echoed.data(), echoed.size());
    CHECK(echoed == message);
    ::shutdown(fd, SHUT_WR);
    char byte;
    CHECK(::recv(fd, &byte, 1, 0) == 0);  // the server's FIN, not a timeout
    ::close(fd);
  }
  CHECK(server_has_no_connections(*server));
  server->stop();
  server->join();
}

TEST_CASE("tcp server: a client that never reads makes the server stop reading it; nothing is lost") {
  LoopOptions lo = test::loop_options();
  lo.output_high_water = 256 * 1024;
  lo.output_low_water = 64 * 1024;
  auto server = start_echo_server(1, lo);
  const int fd = test::connect_blocking(server->port());
  REQUIRE(fd >= 0);
  test::set_nonblocking(fd);
  // Phase 1: send as much as the connection takes, never reading.
  std::vector<uint8_t> chunk(64 * 1024);
  uint64_t sent = 0;
  auto fill = [&](uint8_t* p, size_t n, uint64_t at) {
    for (size_t k = 0; k < n; ++k) p[k] = test::echo_byte(3, 0, 0, at + k);
  };
  // Until the connection has taken nothing for a second (200 stalls in a row). The limit only ends a
  // server that never stops reading: on a loaded machine filling the buffers alone can take seconds.
  const auto until = std::chrono::steady_clock::now() + 10s;
  int stalls = 0;
  while (std::chrono::steady_clock::now() < until && stalls < 200) {
    fill(chunk.data(), chunk.size(), sent);
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      stalls = 0;
    } else {
      ++stalls;
      std::this_thread::sleep_for(5ms);
    }
  }
  // The server holds at most its high-water mark plus what it had already received when it paused:
  // io_uring's multishot receive drains the socket's receive buffer until the cancel lands, so that
  // is at most one receive buffer (tcp_rmem's maximum). The rest waits in the kernel; the client blocks.
  CHECK(stalls >= 200);
  CHECK(server->total(&NetStats::read_pauses) >= 1);
  const uint64_t queued = server->total(&NetStats::output_bytes_queued);
  CHECK(queued <= lo.output_high_water + max_receive_buffer() + lo.recv_buffer_size);
  std::this_thread::sleep_for(500ms);  // nothing more gets in while the client keeps trying
  for (int i = 0; i < 20; ++i) [[maybe_unused]] ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(100ms);
  CHECK(server->total(&NetStats::output_bytes_queued) == queued);
  MESSAGE("client sent ", sent / 1024, " KiB before blocking");
  CHECK(sent < 64ull << 20);
  // Phase 2: read everything back; every byte comes back in order.
  uint64_t got = 0;
  std::vector<uint8_t> buf(256 * 1024);
  bool intact = true;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < sent && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) {
      std::this_thread::sleep_for(1ms);
      continue;
    }
    for (ssize_t k = 0; k < n && intact; ++k) intact = buf[k] == test::echo_byte(3, 0, 0, got + k);
    got += static_cast<uint64_t>(n);
  }
  CHECK(intact);
  CHECK(got == sent);
  ::close(fd);
  CHECK(server_has_no_connections(*server));
  server->stop();
  server->join();
}

TEST_CASE("tcp server: 8 MiB sent at once come back whole, in order, and on io_uring in fewer reads than buffers") {
  // A read larger than one receive buffer: on io_uring with receive bundles (Linux 6.10+) one
  // completion covers several buffers, each handed on in ring order; elsewhere each read fills one.
  auto server = start_echo_server(1);
  const int fd = test::connect_blocking(server->port());
  REQUIRE(fd >= 0);
  test::set_recv_timeout(fd, 10000);
  constexpr size_t kBytes = 8 << 20;
  std::vector<uint8_t> payload(kBytes);
  for (size_t k = 0; k < kBytes; ++k) payload[k] = test::echo_byte(11, 0, 0, k);
  std::thread writer([&] {
    for (size_t at = 0; at < kBytes;) {
      const ssize_t n = ::send(fd, payload.data() + at, kBytes - at, MSG_NOSIGNAL);
      if (n <= 0) return;
      at += static_cast<size_t>(n);
    }
  });
  std::vector<uint8_t> echoed(kBytes);
  const size_t got = test::recv_exact(fd, echoed.data(), kBytes);
  writer.join();
  ::close(fd);
  REQUIRE(got == kBytes);
  CHECK(echoed == payload);
  const uint64_t reads = server->total(&NetStats::reads);
  const uint64_t buffers = kBytes / LoopOptions{}.recv_buffer_size;
  MESSAGE(reads, " reads for ", buffers, " buffers' worth");
  if (test::backend_name() == "io_uring" && test::kernel_at_least(6, 10)) CHECK(reads < buffers);
  CHECK(server_has_no_connections(*server));
  server->stop();
  server->join();
}

TEST_CASE("tcp server: stopping closes open connections gracefully and in-flight echoes are delivered") {
  auto server = start_echo_server();
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    const int fd = test::connect_blocking(server->port());
    REQUIRE(fd >= 0);
    test::set_recv_timeout(fd, 5000);
    fds.push_back(fd);
  }
  REQUIRE(test::eventually([&] { return server->total(&NetStats::connections_open) == 20; }));
  for (int fd : fds) REQUIRE(::send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
  for (int fd : fds) {
    char b[4];
    REQUIRE(::recv(fd, b, 4, MSG_WAITALL) == 4);
  }
  const auto t0 = std::chrono::steady_clock::now();
  server->stop();
  for (int fd : fds) {
    char b[16];
    CHECK(::recv(fd, b, sizeof b, 0) == 0);  // FIN, not a reset and not silence
    ::close(fd);
  }
  server->join();
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
}

TEST_CASE("loop: connect() opens client connections, and a refused connect reports ECONNREFUSED") {
  auto server = start_echo_server(1);
  struct Client final : ConnectionHandler {
    std::atomic<int> opened{0}, closed{0}, last_error{1};
    std::string echoed;
    std::atomic<bool> got_echo{false};
    void on_open(Connection& c) override {
      ++opened;
      Loop::current().write(c, std::string_view("hello, loop"));
    }
    size_t on_data(Connection& c, std::span<uint8_t> d) override {
      echoed.append(reinterpret_cast<char*>(d.data()), d.size());
      if (echoed.size() >= 11) {
        got_echo = true;
        Loop::current().close(c);
      }
      return d.size();
    }
    void on_close(Connection&, int error) override {
      last_error = error;
      ++closed;
    }
  };
  Client good, refused;
  // A port nothing listens on: bind one, keep it closed.
  const SocketAddress dead = SocketAddress::loopback(1);
  Runtime rt({.shards = {.count = 1}, .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> {
                return Loop::create(s, test::loop_options());
              },
              .on_start = [&](Shard&) {
                Loop& loop = Loop::current();
                REQUIRE(loop.connect(SocketAddress::loopback(server->port()), good, nullptr) != nullptr);
                const SocketAddress from = SocketAddress::parse("127.0.0.5:0").value();
                REQUIRE(loop.connect(dead, refused, nullptr, &from) != nullptr);
              }});
  rt.start();
  CHECK(test::eventually([&] { return good.closed.load() == 1 && refused.closed.load() == 1; }, 10s));
  CHECK(good.opened == 1);
  CHECK(good.got_echo);
  CHECK(good.echoed == "hello, loop");
  CHECK(good.last_error == 0);
  CHECK(refused.opened == 0);
  CHECK(refused.last_error == -ECONNREFUSED);
  rt.stop();
  rt.join();
  server->stop();
  server->join();
}

TEST_CASE("loop: shared bytes join the last segment when contiguous; a connection behind on sending gets copies") {
  // A peer that reads only once everything is queued: while it does not, the connection is behind.
  uint16_t port = 0;
  const int listener = test::listen_loopback(port, 1);
  REQUIRE(listener >= 0);

  // 1,000 shared buffers of 200 bytes (byte k of buffer i: i + k), each counting its releases.
  struct Shared {
    std::atomic<int>* released;
    uint8_t bytes[200];
    static void release(void* p) noexcept { ++*static_cast<Shared*>(p)->released; }
  };
  constexpr int kBuffers = 1000;
  std::atomic<int> released{0}, started{0};
  std::vector<Shared> shared(kBuffers);
  for (int i = 0; i < kBuffers; ++i) {
    shared[i].released = &released;
    for (int k = 0; k < 200; ++k) shared[i].bytes[k] = static_cast<uint8_t>(i + k);
  }
  struct Writer final : ConnectionHandler {
    std::vector<Shared>* shared;
    std::atomic<int>* started;
    std::atomic<size_t> queued{0};
    std::atomic<int> started_by_first{0};
    void on_open(Connection& c) override {
      Loop& loop = Loop::current();
      // The first buffer in two contiguous halves: one segment, one reference.
      Shared& first = (*shared)[0];
      *started += loop.write_shared(c, first.bytes, 100, &first, &Shared::release);
      *started += loop.write_shared(c, first.bytes + 100, 100, &first, &Shared::release);
      started_by_first = started->load();
      for (size_t i = 1; i < shared->size(); ++i) {
        Shared& s = (*shared)[i];
        *started += loop.write_shared(c, s.bytes, 200, &s, &Shared::release);
      }
      queued = loop.buffered_amount(c);
    }
    size_t on_data(Connection&, std::span<uint8_t> d) override { return d.size(); }
    void on_close(Connection&, int) override {}
  } writer;
  writer.shared = &shared;
  writer.started = &started;
  Runtime rt({.shards = {.count = 1}, .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> {
                return Loop::create(s, test::loop_options());
              },
              .on_start = [&](Shard&) {
                REQUIRE(Loop::current().connect(SocketAddress::loopback(port), writer, nullptr) != nullptr);
              }});
  rt.start();
  const int peer = ::accept(listener, nullptr, nullptr);
  REQUIRE(peer >= 0);
  REQUIRE(test::eventually([&] { return writer.queued.load() > 0; }, 10s));
  CHECK(writer.queued.load() == kBuffers * 200);
  CHECK(writer.started_by_first.load() == 1);
  CHECK(started.load() <= 16);  // the rest were copied: the connection holds few references
  // Every byte arrives, in order, and every reference taken is released once sent.
  test::set_recv_timeout(peer, 5000);
  std::vector<uint8_t> got;
  uint8_t buf[65536];
  while (got.size() < size_t{kBuffers} * 200) {
    const ssize_t n = ::recv(peer, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.insert(got.end(), buf, buf + n);
  }
  REQUIRE(got.size() == size_t{kBuffers} * 200);
  bool intact = true;
  for (size_t j = 0; j < got.size() && intact; ++j) intact = got[j] == static_cast<uint8_t>(j / 200 + j % 200);
  CHECK(intact);
  CHECK(test::eventually([&] { return released.load() == started.load(); }, 5s));
  ::close(peer);
  ::close(listener);
  rt.stop();
  rt.join();
}

TEST_CASE("loop: the connection whose input an iteration handled is sent to first, before those only written to") {
  // A room in miniature: a byte from one client is "published" to every other client, then answered
  // to the sender itself. The answer leaves first, though it was written last. The order of sends is
  // read from the kernel's receive timestamps: on loopback each send delivers as it happens.
  struct Publisher final : ConnectionHandler {
    explicit Publisher(Loop& l) : loop(l) {}
    Loop& loop;
    std::vector<Connection*> open;  // in order of opening; shard thread only
    void on_open(Connection& c) override { open.push_back(&c); }
    size_t on_data(Connection& c, std::span<uint8_t> d) override {
      for (Connection* other : open) {
        if (other != &c) loop.write(*other, std::string_view("b"));
      }
      loop.write(c, std::string_view("a"));
      return d.size();
    }
    void on_close(Connection& c, int) override { std::erase(open, &c); }
  };
  auto server = start_server([](Loop& l) { return std::make_unique<Publisher>(l); }, 1);
  constexpr int kBystanders = 16;
  std::vector<int> fds;
  for (int i = 0; i <= kBystanders; ++i) {  // the last one speaks
    const int fd = test::connect_blocking(server->port());
    REQUIRE(fd >= 0);
    const int on = 1;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0);
    test::set_recv_timeout(fd, 5000);
    fds.push_back(fd);
  }
  REQUIRE(test::eventually([&] { return server->total(&NetStats::connections_open) == kBystanders + 1; }, 10s));
  REQUIRE(::send(fds.back(), "x", 1, MSG_NOSIGNAL) == 1);
  const auto arrival_ns = [](int fd, char expected) -> int64_t {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(fd, &msg, 0) != 1 || byte != expected) return -1;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
      }
    }
    return -1;
  };
  const int64_t answered = arrival_ns(fds.back(), 'a');
  REQUIRE(answered > 0);
  int later = 0;
  for (int i = 0; i < kBystanders; ++i) {
    const int64_t published = arrival_ns(fds[i], 'b');
    REQUIRE(published > 0);
    later += published > answered;
  }
  CHECK(later == kBystanders);
  for (int fd : fds) ::close(fd);
  server->stop();
  server->join();
}

TEST_CASE("loop: a task another shard sent before its I/O runs before the events that I/O led to") {
  // Shard 0 sends shard 1 a task, then writes to a client; the client, having read that, writes to
  // shard 1's connection. Shard 1 is held in a deferred task meanwhile, so when it goes on, the task
  // and the data both wait for it: the task must run first (a member that got its 101 after joining
  // a room must get what is published in answer to it).
  struct Handler final : ConnectionHandler {
    Connection* conn = nullptr;
    std::atomic<bool> opened{false};
    bool task_ran = false;                       // shard 1's thread only
    std::atomic<int> task_ran_before_data{-1};   // -1: no data yet
    void on_open(Connection& c) override {
      conn = &c;
      opened = true;
    }
    size_t on_data(Connection&, std::span<uint8_t> d) override {
      if (task_ran_before_data < 0) task_ran_before_data = task_ran ? 1 : 0;
      return d.size();
    }
    void on_close(Connection&, int) override {}
  } on_shard[2];
  uint16_t ports[2] = {0, 0};
  const int listeners[2] = {test::listen_loopback(ports[0]), test::listen_loopback(ports[1])};
  REQUIRE((listeners[0] >= 0 && listeners[1] >= 0));
  Runtime rt({.shards = {.count = 2}, .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> {
                return Loop::create(s, test::loop_options());
              },
              .on_start = [&](Shard& s) {
                Loop::current().connect(SocketAddress::loopback(ports[s.id()]), on_shard[s.id()], nullptr);
              }});
  rt.start();
  const int client[2] = {::accept(listeners[0], nullptr, nullptr), ::accept(listeners[1], nullptr, nullptr)};
  REQUIRE((client[0] >= 0 && client[1] >= 0));
  REQUIRE(test::eventually([&] { return on_shard[0].opened && on_shard[1].opened; }, 10s));

  std::atomic<bool> held{false}, release{false};
  rt.shard(1).post([&](Shard& s) {
    s.defer([&](Shard&) {
      held = true;
      while (!release) std::this_thread::sleep_for(1ms);
    });
  });
  REQUIRE(test::eventually([&] { return held.load(); }, 10s));
  rt.shard(0).post([&](Shard& s) {
    s.send_to(1, [&](Shard&) { on_shard[1].task_ran = true; });
    Loop::current().write(*on_shard[0].conn, std::string_view("go"));
  });
  test::set_recv_timeout(client[0], 5000);
  char go[2];
  REQUIRE(::recv(client[0], go, sizeof go, MSG_WAITALL) == 2);
  REQUIRE(::send(client[1], "x", 1, MSG_NOSIGNAL) == 1);
  release = true;
  REQUIRE(test::eventually([&] { return on_shard[1].task_ran_before_data.load() >= 0; }, 10s));
  CHECK(on_shard[1].task_ran_before_data.load() == 1);
  for (int fd : {client[0], client[1], listeners[0], listeners[1]}) ::close(fd);
  rt.stop();
  rt.join();
}

TEST_CASE("loop: a sleeping shard is woken by another shard's send, and timers fire on time") {
  auto server = start_echo_server(2);
  std::atomic<int64_t> woke_after_us{-1};
  REQUIRE(test::eventually([&] { return server->runtime().shard(1).stats().loop_sleeps.get() > 0; }));
  std::this_thread::sleep_for(30ms);
  const auto t0 = std::chrono::steady_clock::now();
  server->runtime().shard(0).post([&](Shard& s) {
    s.send_to(1, [&](Shard&) {
      woke_after_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    });
  });
  REQUIRE(test::eventually([&] { return woke_after_us.load() >= 0; }, 5s));
  CHECK(woke_after_us.load() < 500'000);

  struct Once : Timer {
    std::atomic<int64_t>* fired_ns;
    Shard* shard;
    Once() : Timer(&fire) {}
    static void fire(Timer& t) {
      auto& self = static_cast<Once&>(t);
      self.fired_ns->store(self.shard->now_ns());
    }
  };
  Once once;
  std::atomic<int64_t> armed_ns{0}, fired_ns{0};
  server->runtime().shard(1).post([&](Shard& s) {
    once.shard = &s;
    once.fired_ns = &fired_ns;
    armed_ns = s.now_ns();
    s.timers().schedule_in(once, 25);
  });
  REQUIRE(test::eventually([&] { return fired_ns.load() != 0; }, 5s));
  const int64_t delay_ms = (fired_ns - armed_ns) / 1'000'000;
  CHECK(delay_ms >= 24);
  CHECK(delay_ms < 200);
  server->stop();
  server->join();
}

}  // TEST_SUITE
