#pragma once
// RawHttpClient: a blocking HTTP/1.1 client over a plain socket, written for tests independently of
// the server's parser and writer: it sends exactly the bytes a test gives it (malformed ones too) and
// reads responses with its own small reader. Every read is bounded by the receive timeout, so a
// silent server fails a test instead of hanging it. One client per connection, one thread.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

struct HttpReply {
  int status = 0;
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header called `name` (case-insensitive), or "" when there is none.
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (iequals(n, name)) return v;
    }
    return {};
  }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& h : headers) n += iequals(h.first, name) ? 1 : 0;
    return n;
  }

  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
      if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
  }
};

class RawHttpClient {
 public:
  explicit RawHttpClient(uint16_t port, int timeout_ms = 5000) : RawHttpClient("127.0.0.1", port, timeout_ms) {}
  // To `host` (an IPv4 address).
  RawHttpClient(const std::string& host, uint16_t port, int timeout_ms = 5000)
      : fd_(connect_blocking(host, port)), timeout_ms_(timeout_ms) {
    if (fd_ >= 0) set_recv_timeout(fd_, timeout_ms);
  }
  ~RawHttpClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttpClient(const RawHttpClient&) = delete;
  RawHttpClient& operator=(const RawHttpClient&) = delete;

  bool connected() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  // Bytes received and not yet returned by read().
  const std::string& pending() const noexcept { return buf_; }

  // Writes all of `bytes`; false when the connection refused them.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(size_t(n));
    }
    return true;
  }

  // Reads one response. `head_request`: it answers a HEAD, so it has no body whatever its
  // Content-Length says. nullopt when the connection ended or timed out first, or the bytes are not
  // a response this reader understands.
  std::optional<HttpReply> read(bool head_request = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    HttpReply r;
    const std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK": version, a space, three digits, a space, an optional reason.
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0 || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
      return std::nullopt;
    }
    r.version = status_line.substr(0, 8);
    r.status = std::stoi(status_line.substr(9, 3));
    for (size_t pos = line_end + 2; pos < head.size();) {
      const size_t stop = head.find("\r\n", pos);
      const std::string line = head.substr(pos, stop - pos);
      pos = stop + 2;
      const size_t colon = line.find(':');
      if (colon == std::string::npos || colon == 0) return std::nullopt;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    // RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; else Content-Length; else until close.
    if (head_request || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (!r.header("Transfer-Encoding").empty()) return std::nullopt;  // the server under test never chunks
    const std::string length = r.header("Content-Length");
    if (length.empty()) {
      while (fill()) {
      }
      r.body = std::move(buf_);
      buf_.clear();
      return r;
    }
    const size_t n = std::stoul(length);
    while (buf_.size() < n) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, n);
    buf_.erase(0, n);
    return r;
  }

  // True when the server closed the connection (end of stream or reset) within the receive timeout.
  // Bytes that arrive meanwhile are kept in pending() (and count against: the server said more).
  bool closed_by_server() {
    if (!buf_.empty()) return false;
    char byte[512];
    for (;;) {
      const ssize_t n = ::recv(fd_, byte, sizeof byte, 0);
      if (n == 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == ECONNRESET;
      buf_.append(byte, size_t(n));
      return false;
    }
  }

  // True when nothing arrives and the connection stays open for `ms` (a kept-alive connection).
  bool quiet_for(int ms) {
    set_recv_timeout(fd_, ms);
    char byte;
    const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK);
    const bool quiet = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    set_recv_timeout(fd_, timeout_ms_);
    return quiet;
  }

 private:
  // One recv into buf_; false at the end of the stream, on an error or on the timeout.
  bool fill() {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(chunk, size_t(n));
      return true;
    }
  }

  int fd_;
  int timeout_ms_;
  std::string buf_;
};

// Sends `request` on a new connection and reads one response; status 0 when none came.
inline HttpReply ask_once(const std::string& host, uint16_t port, std::string_view request, bool head_request = false) {
  RawHttpClient c(host, port);
  if (!c.connected() || !c.send(request)) return {};
  return c.read(head_request).value_or(HttpReply{});
}
inline HttpReply ask_once(uint16_t port, std::string_view request, bool head_request = false) {
  return ask_once("127.0.0.1", port, request, head_request);
}

// GET `target` on a connection of its own (Connection: close), to 127.0.0.1 or `host` (an IPv4 address).
inline HttpReply get(const std::string& host, uint16_t port, std::string_view target) {
  return ask_once(host, port, "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}
inline HttpReply get(uint16_t port, std::string_view target) { return get("127.0.0.1", port, target); }

}  // namespace ringcast::test
