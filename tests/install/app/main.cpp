// A program outside the ringcast tree, built against an installed ringcast: an App with an HTTP route
// and a WebSocket echo route on a free port, asked for its route once over a plain socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <ringcast/ws/app.hpp>

#include <string>

namespace {

// GET `path` from 127.0.0.1:`port`; the whole answer (the server closes after it: Connection: close).
std::string http_get(uint16_t port, const char* path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

struct Peer {};

}  // namespace

int main() {
  ringcast::App app({.port = 0, .shards = {.count = 1, .pin = false}});
  app.get("/hello", [](ringcast::Request&, ringcast::Response& res) { res.send("hello from an installed ringcast"); });
  app.ws<Peer>("/echo", {.on_message = [](ringcast::WebSocket<Peer>& ws, std::string_view msg, ringcast::OpCode op) {
    ws.send(msg, op);
  }});
  app.start();
  const std::string answer = http_get(app.port(), "/hello");
  app.stop();
  app.join();
  if (answer.find("200 OK") == std::string::npos || answer.find("hello from an installed ringcast") == std::string::npos) {
    fmt::print("unexpected answer:\n{}\n", answer);
    return 1;
  }
  fmt::print("installed ringcast works\n");
  return 0;
}
