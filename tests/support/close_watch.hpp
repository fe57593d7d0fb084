#pragma once
// Many WebSockets waiting for the server to close them (a drain, a stop): when each got its Close
// frame and with what code, read from one thread with poll(), each Close answered as a client does.
#include <doctest/doctest.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <vector>

#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

struct CloseSeen {
  std::chrono::steady_clock::time_point at;
  int code = 0;  // the Close frame's, 1006 when TCP ended without one, 0 while none came
};

// `n` WebSockets open on `port` at `path`.
inline std::vector<std::unique_ptr<RawWsClient>> open_sockets(uint16_t port, int n, std::string_view path = "/") {
  std::vector<std::unique_ptr<RawWsClient>> sockets;
  for (int i = 0; i < n; ++i) {
    auto ws = std::make_unique<RawWsClient>(port);
    REQUIRE(ws->handshake(path));
    sockets.push_back(std::move(ws));
  }
  return sockets;
}

// Waits until every socket has its Close frame (or its TCP ended), up to `deadline`. The server sends
// nothing else on these sockets.
inline std::vector<CloseSeen> wait_closes(std::vector<std::unique_ptr<RawWsClient>>& sockets,
                                          std::chrono::steady_clock::time_point deadline) {
  std::vector<CloseSeen> seen(sockets.size());
  size_t left = sockets.size();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    for (auto& ws : sockets) fds.push_back({.fd = ws->fd(), .events = POLLIN, .revents = 0});
    ::poll(fds.data(), fds.size(), 20);
    for (size_t i = 0; i < sockets.size(); ++i) {
      if (seen[i].code != 0 || fds[i].revents == 0) continue;
      RawFrame f;
      const ReadStatus s = sockets[i]->read_frame(f, 0);
      if (s == ReadStatus::timeout) continue;
      seen[i].at = std::chrono::steady_clock::now();
      seen[i].code = s == ReadStatus::frame && f.opcode == op::kClose ? f.close_code() : 1006;
      if (seen[i].code != 1006) sockets[i]->send_frame({.opcode = op::kClose, .payload = f.payload.substr(0, 2)});
      --left;
    }
  }
  return seen;
}

}  // namespace ringcast::test
