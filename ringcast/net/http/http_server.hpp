#pragma once
// HttpServerHandler: HTTP/1.1 on a shard's connections — keep-alive, pipelining, body limits, idle
// and header timeouts — dispatching requests to routes. One handler per shard; the routes are built
// before the server starts and then read by every shard at once.
//
// A request is handled when its head and whole body are in hand: the handler returns nothing
// consumed until then, so the loop keeps the bytes (bounded by the 16 KiB head limit plus the route's
// body limit, and for a chunked body its framing, see ChunkedDecoder) and the parser resumes where it
// stopped. Once the head is complete, each later read costs only its own bytes: the body's progress
// is kept (only while a body is arriving) and the head is parsed again once, when the body is whole.
// Bodies are views into those bytes (zero copy); a chunked body is decoded in place, its data moved
// forward over its framing. Responses are written straight into the connection's output and leave
// with everything else queued in the loop iteration. While the output queued is over the loop's
// high-water mark (Loop::output_full), pipelined requests wait unparsed: a client that sends requests
// and never reads their answers holds about output_high_water bytes of answers, not one per request.
//
// The contract of a route handler: it runs on the connection's shard, and answers before it returns
// (Response::send, json, file) — or defers: Response::defer() hands back a PendingResponse, a small
// copyable handle through which any thread answers later (slow work such as password hashing goes
// to a WorkerPool, ringcast/core/worker_pool.hpp, and the answer comes back as a task on the connection's
// shard). While an answer is pending:
//   - the connection's later (pipelined) requests wait unparsed, so responses stay in request order
//     (RFC 9112 §9.3.2); past one request head's worth of waiting bytes (16 KiB) the connection is no
//     longer read, so a pending connection holds no more input than a request in progress does;
//   - the idle timeout does not apply; answer_timeout_ms does (503 and close, as a last resort);
//   - when the connection closes (the client goes, the shard stops) its pending state goes with it,
//     and a late answer finds nothing: the handle names the request by a ticket, never by pointer,
//     so an answer for a connection that is gone, or whose slot a new connection has taken, is dropped.
// Once the answer is written, the waiting requests are parsed and answered as if they had just come.
//
// An upgrade route (WebSocket) receives the connection itself and may hand it to another handler;
// the bytes after the request head then go to that handler. A request to it with content (a
// Content-Length above 0, or chunked) is refused with 400 before the content is read, so no byte is
// both a body to one reader and the new protocol to another. It may defer too, like any route, and
// hand the connection over later (PendingResponse::upgrade): until then the bytes behind the request
// wait unparsed as above, and once it is handed over they go to the new handler, first of all.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <ringcast/core/detail/non_null.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/http/detail/chunked_decoder.hpp>
#include <ringcast/net/http/detail/http_parser.hpp>
#include <ringcast/net/http/http_request.hpp>
#include <ringcast/net/http/http_response.hpp>
#include <ringcast/net/http/http_router.hpp>
#include <ringcast/net/socket_address.hpp>

namespace ringcast {

class HttpServerHandler;
class Response;
class Shard;
class StaticFiles;

// What a route handler sees of a request: the parsed head, the route's parameters, and the body.
// Valid during the handler call only. No view it returns has a null data(), not even an empty body
// (ringcast/core/detail/non_null.hpp): each may go to memcpy or a JSON parser as it is.
class Request {
 public:
  // `fd`: the connection's socket, for remote_address(); -1 when there is none.
  Request(const HttpRequest& http, const RouteParams& params, std::string_view tail, std::string_view body,
          int fd = -1) noexcept
      : http_(http), params_(params), tail_(tail), body_(body), fd_(fd) {}

  const HttpRequest& http() const noexcept { return http_; }
  std::string_view method() const noexcept { return http_.method(); }
  std::string_view path() const noexcept { return http_.path(); }
  std::string_view header(std::string_view name) const noexcept { return non_null(http_.header(name)); }
  // A route parameter (":name" in the pattern), undecoded; empty when absent.
  std::string_view param(std::string_view name) const noexcept { return non_null(params_.get(name)); }
  // What a "*" tail matched.
  std::string_view tail() const noexcept { return non_null(tail_); }
  // A query parameter, percent-decoded; empty when absent.
  std::string query(std::string_view name) const;
  std::string_view body() const noexcept { return non_null(body_); }
  // The client's address (a getpeername system call: for rare uses such as throttling logins);
  // empty (family AF_UNSPEC) when unknown.
  SocketAddress remote_address() const noexcept;

 private:
  const HttpRequest& http_;
  const RouteParams& params_;
  std::string_view tail_;
  std::string_view body_;
  int fd_;
};

// PendingResponse: the handle of a deferred answer (Response::defer). 32 bytes, copyable; names the
// connection's shard, its slot on that shard and the request's ticket (unique per shard), never the
// connection itself, so holding one keeps nothing alive and using a stale one is harmless.
//
// Threads: any thread may answer, as long as the App (its shards and handlers) still exists; the
// answer always runs on the connection's shard — a mesh task from another shard of the same runtime,
// Shard::post from any other thread, a deferred task on the shard itself. The first answer wins;
// later ones, and answers for a connection that has closed, are dropped there.
//
// A client that closes its side (FIN) while its answer is awaited has given up, for this server: the
// connection closes and the answer is dropped, as nginx treats a client abort. A FIN cannot tell a
// half-close from a client gone, and keeping every abandoned request's work alive until it is
// answered into a reset costs more than the rare half-closing client is worth.
class PendingResponse {
 public:
  // Runs on the connection's shard with the request's Response, exactly like a route handler.
  using Answer = std::function<void(Response&)>;
  // Runs on the connection's shard with the connection and the request's Response, exactly like an
  // UpgradeHandler: it hands the connection to another handler, or answers with the Response.
  using UpgradeAnswer = std::function<void(Connection&, Response&)>;

  PendingResponse() noexcept = default;

  // Any thread. Runs `answer(res)` on the connection's shard: set the status and headers, then send
  // (an answer that sends nothing is a 500). When the request can no longer be answered, `answer`
  // is destroyed there without being called.
  void answer(Answer answer) const;
  // Any thread. Shorthand for an answer of `status` with `body` (copied) of `content_type`.
  void send(int status, std::string body, std::string content_type = "text/plain; charset=utf-8") const;
  // Any thread. Runs `answer(c, res)` on the connection's shard, for a deferred upgrade: once it has
  // handed `c` over, the bytes that waited behind the request go to the new handler. Dropped like
  // answer(), and like answer() the first of the two to arrive wins.
  void upgrade(UpgradeAnswer answer) const;

  // False for a default-constructed handle (and for defer() on a Response that cannot defer).
  explicit operator bool() const noexcept { return server_ != nullptr; }
  // The connection's shard and its slot there (for logs and tests).
  unsigned shard() const noexcept;
  uint32_t slot() const noexcept { return slot_; }

 private:
  friend class HttpServerHandler;
  PendingResponse(Shard& shard, HttpServerHandler& server, uint32_t slot, uint64_t ticket) noexcept
      : shard_(&shard), server_(&server), slot_(slot), ticket_(ticket) {}
  // Sends one of the two (the other empty) to the connection's shard.
  void deliver(Answer answer, UpgradeAnswer upgrade) const;

  Shard* shard_ = nullptr;
  HttpServerHandler* server_ = nullptr;
  uint32_t slot_ = 0;
  uint64_t ticket_ = 0;
};

// How a route handler answers. Set a status and headers, then send() once; a handler that returns
// without sending (or deferring) answers 500. Valid during the handler call only.
class Response {
 public:
  // `http10`: the request is HTTP/1.0, so a kept-alive connection must say so (RFC 9112 §9.3).
  // `server`: the handler that can take a deferred answer (none: defer() is refused).
  Response(Loop& loop, Connection& c, bool keep_alive, bool head, std::string_view date, bool http10 = false,
           HttpServerHandler* server = nullptr) noexcept;

  Response& status(int code) noexcept;
  // Adds a header (copied). Ignored when it is malformed or the 1 KiB of header space is full.
  Response& header(std::string_view name, std::string_view value) noexcept;
  // Sends the response with this body (the Content-Type defaults to text/plain).
  void send(std::string_view body, std::string_view content_type = "text/plain; charset=utf-8");
  void json(std::string_view body) { send(body, "application/json"); }
  // Serves `url_path` from `files` (200/304/404/403/405 as fits).
  void file(const StaticFiles& files, std::string_view url_path, const HttpRequest& request);
  // Closes the connection after this response (also after a deferred one, when called before the
  // handler returns).
  Response& close() noexcept;
  // The answer comes later, through the returned handle (see PendingResponse and the top of this
  // file); headers set here are not kept — the answer sets its own. Returns an empty handle when
  // something was sent already or this Response cannot defer (an upgrade that took the connection).
  PendingResponse defer();

  bool sent() const noexcept { return sent_; }
  bool deferred() const noexcept { return deferred_; }
  bool keep_alive() const noexcept { return keep_alive_; }

 private:
  Loop& loop_;
  Connection& conn_;
  HttpServerHandler* server_;
  HttpResponse response_;
  std::string_view date_;
  char store_[1024];        // header names and values are copied here: callers may pass temporaries
  size_t store_used_ = 0;
  bool keep_alive_;
  bool head_;
  bool http10_;
  bool sent_ = false;
  bool deferred_ = false;
};

using HttpHandler = std::function<void(Request&, Response&)>;
// Takes the connection over (or answers with `res` to refuse). `head_bytes` is the size of the
// request head; the caller consumes it.
using UpgradeHandler = std::function<void(Connection&, Request&, Response&)>;

struct HttpRoute {
  HttpHandler handler;
  UpgradeHandler upgrade;           // set for upgrade routes (handler is then empty)
  uint64_t max_body = 0;            // bytes; larger bodies get 413 (0: HttpServerOptions::max_body)
};

struct HttpServerOptions {
  unsigned idle_timeout_ms = 10'000;  // a connection with no complete request head for this long closes (408 if mid-head)
  uint64_t max_body = 1 << 20;        // body limit of routes without their own
  // A deferred answer not given within this is answered 503 and the connection closes (0: wait for
  // it as long as the client stays). A safety net for a lost handle, not a deadline for slow work.
  unsigned answer_timeout_ms = 60'000;
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
  // Requests waiting for a deferred answer on this shard (deferred upgrades among them).
  size_t pending_answers() const noexcept { return pending_.size(); }
  // HTTP connections this handler holds (not counting those handed to another protocol).
  uint32_t open_connections() const noexcept { return sessions_.live(); }
  // For a drain: idle keep-alive connections close now, and every later answer says
  // `Connection: close` and closes after it (RFC 9112 §9.6), so no connection outlives its request.
  void drain();
  bool draining() const noexcept { return draining_; }

 private:
  friend class PendingResponse;
  friend class Response;
  struct Session;  // per connection, from slab_: the parser's state
  // A request whose head is complete and whose body is still arriving (at most one per connection,
  // keyed by the connection's slot, only while the body arrives): where the body ends or how far it
  // is decoded. 72 bytes.
  struct BodyProgress {
    uint64_t end = 0;               // Content-Length: head and body bytes
    uint64_t raw = 0;               // chunked: bytes after the head decoded so far
    ChunkedDecoder decoder{0};      // chunked
    uint32_t head_bytes = 0;
    bool chunked = false;
  };
  // A request whose answer was deferred; at most one per connection, keyed by the connection's slot.
  struct Pending {
    Connection* conn = nullptr;
    uint64_t ticket = 0;
    bool keep_alive = true;
    bool head = false;
    bool http10 = false;
  };

  struct BodyRead;
  // Each returns the bytes of the request at the start of `data` once it is answered, 0 while more
  // bytes are needed. start_request parses a head; continue_body goes on with a body that is arriving.
  size_t start_request(Connection& c, Session& s, std::span<uint8_t> data);
  size_t continue_body(Connection& c, Session& s, std::span<uint8_t> data);
  static BodyRead read_body(std::span<uint8_t> data, BodyProgress& p);
  // Runs the route of the request in request_ (head and body in hand); returns `total`.
  size_t dispatch(Connection& c, Session& s, const RouteMatch<HttpRoute>& match, std::string_view body,
                  size_t total);
  // After a handler or an answer: 500 when nothing was sent; then close, or wait for the next request.
  void finish(Connection& c, Response& res);
  // Response::defer: registers the pending answer of connection `c`.
  PendingResponse defer(Connection& c, bool keep_alive, bool head, bool http10);
  // Runs a deferred answer, `answer` or `upgrade` (this shard's thread): dropped unless `ticket` is
  // still pending on `slot`.
  void answer(uint32_t slot, uint64_t ticket, PendingResponse::Answer& answer,
              PendingResponse::UpgradeAnswer& upgrade);
  void reply_error(Connection& c, int status);
  void arm_idle(Connection& c);

  Loop& loop_;
  const HttpRouter<HttpRoute>& routes_;
  HttpServerOptions options_;
  HttpRequest request_;  // one per shard: 3 KiB of header views
  Slab<Session> sessions_;
  std::unordered_map<uint32_t, Pending> pending_;  // by connection slot
  std::unordered_map<uint32_t, BodyProgress> bodies_;  // by connection slot
  uint64_t next_ticket_ = 0;
  char date_[32] = {};
  int64_t date_second_ = -1;
  bool draining_ = false;
};

}  // namespace ringcast
