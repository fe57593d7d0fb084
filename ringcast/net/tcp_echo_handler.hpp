#pragma once
// TcpEchoHandler: sends every received byte straight back. The raw TCP echo server's protocol, and
// the baseline the network tests and benchmarks measure the loops with.
#include <ringcast/net/backend/loop.hpp>

namespace ringcast {

class TcpEchoHandler final : public ConnectionHandler {
 public:
  explicit TcpEchoHandler(Loop& loop) noexcept : loop_(loop) {}
  void on_open(Connection&) override {}
  size_t on_data(Connection& c, std::span<uint8_t> data) override {
    loop_.write(c, data.data(), data.size());
    return data.size();
  }
  void on_close(Connection&, int) override {}

 private:
  Loop& loop_;
};

}  // namespace ringcast
