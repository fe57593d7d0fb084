#pragma once
// HttpServerHandler: HTTP/1.1 on a shard's connections — keep-alive, pipelining, body limits, idle
// and header timeouts — dispatching requests to routes. One handler per shard; the routes are built
// before the server starts and then read by every shard at once.
//
// A request is handled when its head and whole body are in hand: the handler returns nothing
// consumed until then, so the loop keeps the bytes (bounded by the 16 KiB head limit plus the route's
// body limit) and the parser resumes where it stopped. Bodies are views into those bytes (zero copy)
// or, when chunked, decoded into a per-shard buffer. Responses are written straight into the
// connection's output and leave with everything else queued in the loop iteration.
//
// An upgrade route (WebSocket) receives the connection itself and may hand it to another handler;
// the bytes after the request head then go to that handler.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "net/connection.hpp"
#include "net/http_parser.hpp"
#include "net/http_request.hpp"
#include "net/http_response.hpp"
#include "net/http_router.hpp"
#include "net/loop.hpp"

namespace ringcast {

class StaticFiles;

// What a route handler sees of a request: the parsed head, the route's parameters, and the body.
// Valid during the handler call only.
class Request {
 public:
  Request(const HttpRequest& http, const RouteParams& params, std::string_view tail, std::string_view body) noexcept
      : http_(http), params_(params), tail_(tail), body_(body) {}

  const HttpRequest& http() const noexcept { return http_; }
  std::string_view method() const noexcept { return http_.method(); }
  std::string_view path() const noexcept { return http_.path(); }
  std::string_view header(std::string_view name) const noexcept { return http_.header(name); }
  // A route parameter (":name" in the pattern), undecoded; empty when absent.
  std::string_view param(std::string_view name) const noexcept { return params_.get(name); }
  // What a "*" tail matched.
  std::string_view tail() const noexcept { return tail_; }
  // A query parameter, percent-decoded; empty when absent.
  std::string query(std::string_view name) const;
  std::string_view body() const noexcept { return body_; }

 private:
  const HttpRequest& http_;
  const RouteParams& params_;
  std::string_view tail_;
  std::string_view body_;
};

// How a route handler answers. Set a status and headers, then send() once; a handler that returns
// without sending answers 500. Valid during the handler call only.
class Response {
 public:
  // `http10`: the request is HTTP/1.0, so a kept-alive connection must say so (RFC 9112 §9.3).
  Response(Loop& loop, Connection& c, bool keep_alive, bool head, std::string_view date, bool http10 = false) noexcept;

  Response& status(int code) noexcept;
  // Adds a header (copied). Ignored when it is malformed or the 1 KiB of header space is full.
  Response& header(std::string_view name, std::string_view value) noexcept;
  // Sends the response with this body (the Content-Type defaults to text/plain).
  void send(std::string_view body, std::string_view content_type = "text/plain; charset=utf-8");
  void json(std::string_view body) { send(body, "application/json"); }
  // Serves `url_path` from `files` (200/304/404/403/405 as fits).
  void file(const StaticFiles& files, std::string_view url_path, const HttpRequest& request);
  // Closes the connection after this response.
  Response& close() noexcept;

  bool sent() const noexcept { return sent_; }
  bool keep_alive() const noexcept { return keep_alive_; }

 private:
  Loop& loop_;
  Connection& conn_;
  HttpResponse response_;
  std::string_view date_;
  char store_[1024];        // header names and values are copied here: callers may pass temporaries
  size_t store_used_ = 0;
  bool keep_alive_;
  bool head_;
  bool http10_;
  bool sent_ = false;
};

using HttpHandler = std::function<void(Request&, Response&)>;
// Takes the connection over (or answers with `res` to refuse). `head_bytes` is the size of the
// request head; the caller consumes it.
using UpgradeHandler = std::function<void(Connection&, Request&, Response&)>;

struct HttpRoute {
  HttpHandler handler;
  UpgradeHandler upgrade;           // set for upgrade routes (handler is then empty)
  uint64_t max_body = 1 << 20;      // bytes; larger bodies get 413
};

struct HttpServerOptions {
  unsigned idle_timeout_ms = 10'000;  // a connection with no complete request head for this long closes (408 if mid-head)
  uint64_t max_body = 1 << 20;        // default per-route body limit
};

class HttpServerHandler final : public ConnectionHandler {
 public:
  // `routes` must outlive the handler and not change while it runs.
  HttpServerHandler(Loop& loop, const HttpRouter<HttpRoute>& routes, HttpServerOptions options);
  ~HttpServerHandler() override;

  void on_open(Connection& c) override;
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_timeout(Connection& c) override;
  void on_close(Connection& c, int error) override;

  // The Date header value for this second (IMF-fixdate), cached per shard.
  std::string_view date();

 private:
  struct Session;  // per connection, from slab_: the parser's state
  // Handles one complete request; returns bytes consumed, 0 when more bytes are needed.
  size_t handle_request(Connection& c, Session& s, std::string_view data, size_t head_bytes);
  void reply_error(Connection& c, int status);
  void arm_idle(Connection& c);

  Loop& loop_;
  const HttpRouter<HttpRoute>& routes_;
  HttpServerOptions options_;
  HttpRequest request_;  // one per shard: 3 KiB of header views
  std::string chunked_body_;
  Slab<Session> sessions_;
  char date_[32] = {};
  int64_t date_second_ = -1;
};

}  // namespace ringcast
