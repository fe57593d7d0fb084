#pragma once
// HttpExchange: one HTTP/1.1 request and its response over a fresh connection on a shard's loop —
// what a load client needs to log in before it opens a WebSocket. The response head is parsed with
// HttpResponseHead; the body is read by Content-Length (at most 64 KiB).
#include <functional>
#include <string>
#include <string_view>

#include <ringcast/net/backend/loop.hpp>

namespace ringcast::load {

class HttpExchange final : public ConnectionHandler {
 public:
  // status 0: the connection failed or the response was malformed (body says why).
  using Done = std::function<void(int status, std::string_view body)>;

  explicit HttpExchange(Loop& loop) : loop_(loop) {}

  // Sends `request` (a whole HTTP/1.1 request with "Connection: close") to `to`; calls `done` once.
  // With `tls`, over TLS to `server_name`.
  bool start(const SocketAddress& to, std::string request, Done done, const SocketAddress* from = nullptr,
             const TlsContext* tls = nullptr, std::string_view server_name = {});

  void on_open(Connection& c) override;
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_close(Connection& c, int error) override;

 private:
  struct Pending {
    std::string request;
    Done done;
    bool answered = false;
  };
  Loop& loop_;
};

}  // namespace ringcast::load
