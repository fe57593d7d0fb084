#include <ringcast/net/http/http_server.hpp>

#include <cassert>
#include <cstring>
#include <ctime>
#include <memory>

#include <ringcast/core/runtime.hpp>
#include <ringcast/core/shard.hpp>
#include <ringcast/net/http/detail/chunked_decoder.hpp>
#include <ringcast/net/http/static_files.hpp>

namespace ringcast {

// Per-connection HTTP state: 20 bytes from the shard's slab.
struct HttpServerHandler::Session {
  HttpParser parser;
  uint32_t index = 0;          // slot in the slab
  bool pending = false;        // a deferred answer is awaited (its record is in pending_)
  bool body = false;           // a request's body is arriving (its progress is in bodies_)
};

namespace {

std::string_view chars(std::span<uint8_t> data) noexcept {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

}  // namespace

struct HttpServerHandler::BodyRead {
  ChunkedStatus status = ChunkedStatus::need_more;
  std::string_view body;  // done: the whole body
  size_t total = 0;       // done: bytes of the request, head and body
  int http_status = 0;    // error: the status to answer
};

// Reads the body of the request at the start of `data` as far as the bytes go, from where `p` says
// the last read stopped. A chunked body is decoded where it lies: its data moves forward over its own
// framing (the data bytes are never more than the framed bytes they came from), so the whole body
// ends up contiguous after the head, and each byte is decoded once however many reads it takes.
HttpServerHandler::BodyRead HttpServerHandler::read_body(std::span<uint8_t> data, BodyProgress& p) {
  if (!p.chunked) {
    if (data.size() < p.end) return {};
    return {ChunkedStatus::done, chars(data).substr(p.head_bytes, p.end - p.head_bytes), p.end, 0};
  }
  char* const body = reinterpret_cast<char*>(data.data()) + p.head_bytes;
  size_t at = p.decoder.decoded_size();
  const std::string_view raw(body + p.raw, data.size() - p.head_bytes - p.raw);
  const ChunkedResult r = p.decoder.feed_to(raw, [body, &at](std::string_view piece) {
    std::memmove(body + at, piece.data(), piece.size());
    at += piece.size();
  });
  if (r.status == ChunkedStatus::error) return {ChunkedStatus::error, {}, 0, r.http_status};
  p.raw += r.consumed;
  if (r.status == ChunkedStatus::need_more) return {};
  return {ChunkedStatus::done, {body, at}, p.head_bytes + p.raw, 0};
}

std::string Request::query(std::string_view name) const {
  std::string out;
  http_.query_param(name, out);
  return out;
}

SocketAddress Request::remote_address() const noexcept { return SocketAddress::peer_of(fd_); }

// ---------------------------------------------------------------------------------------------

unsigned PendingResponse::shard() const noexcept { return shard_ ? shard_->id() : 0; }

void PendingResponse::answer(Answer answer) const { deliver(std::move(answer), {}); }

void PendingResponse::upgrade(UpgradeAnswer answer) const { deliver({}, std::move(answer)); }

void PendingResponse::deliver(Answer answer, UpgradeAnswer upgrade) const {
  if (!server_) return;
  // One allocation per deferred answer (not a hot path): the callable and where it goes.
  struct Job {
    HttpServerHandler* server;
    uint32_t slot;
    uint64_t ticket;
    Answer answer;
    UpgradeAnswer upgrade;
  };
  auto job = std::make_shared<Job>(Job{server_, slot_, ticket_, std::move(answer), std::move(upgrade)});
  // The task is the job's only owner, so the answer, and whatever it holds (an upgrade's user data),
  // is destroyed on the connection's shard when the task is done, run or dropped: a copy kept here
  // could be the last one, released on this thread after the shard let go.
  auto run = [job = std::move(job)](Shard&) {
    job->server->answer(job->slot, job->ticket, job->answer, job->upgrade);
  };
  Shard* here = Shard::current();
  if (here == shard_) {
    here->defer(std::move(run));  // after the current callback: never inside the handler's own call
  } else if (here && &here->runtime() == &shard_->runtime()) {
    here->send_to(shard_->id(), std::move(run));  // another shard: the mesh
  } else {
    shard_->post(std::move(run));  // any other thread (a worker pool, another runtime)
  }
}

void PendingResponse::send(int status, std::string body, std::string content_type) const {
  answer([status, body = std::move(body), type = std::move(content_type)](Response& res) {
    res.status(status).send(body, type);
  });
}

// ---------------------------------------------------------------------------------------------

Response::Response(Loop& loop, Connection& c, bool keep_alive, bool head, std::string_view date, bool http10,
                   HttpServerHandler* server) noexcept
    : loop_(loop), conn_(c), server_(server), date_(date), keep_alive_(keep_alive), head_(head), http10_(http10) {}

Response& Response::status(int code) noexcept {
  response_.set_status(code);
  return *this;
}

Response& Response::header(std::string_view name, std::string_view value) noexcept {
  if (name.size() + value.size() > sizeof store_ - store_used_) return *this;
  char* n = store_ + store_used_;
  std::memcpy(n, name.data(), name.size());
  char* v = n + name.size();
  std::memcpy(v, value.data(), value.size());
  if (response_.add_header({n, name.size()}, {v, value.size()})) store_used_ += name.size() + value.size();
  return *this;
}

Response& Response::close() noexcept {
  keep_alive_ = false;
  return *this;
}

PendingResponse Response::defer() {
  if (sent_ || !server_ || !conn_.is_open() || conn_.handler != server_) return {};
  sent_ = true;  // nothing more is written through this Response
  deferred_ = true;
  return server_->defer(conn_, keep_alive_, head_, http10_);
}

void Response::send(std::string_view body, std::string_view content_type) {
  if (sent_) return;
  sent_ = true;
  if (!content_type.empty()) response_.add_header("Content-Type", content_type);
  // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only when the response says keep-alive.
  if (keep_alive_ && http10_) response_.add_header("Connection", "keep-alive");
  response_.body(body).keep_alive(keep_alive_).head_only(head_).date(date_);
  // Serialized straight into the connection's output: no intermediate string.
  const size_t size = response_.serialized_size();
  std::span<uint8_t> room = loop_.write_reserve(conn_, size);
  const size_t n = response_.serialize(std::span<char>(reinterpret_cast<char*>(room.data()), size));
  loop_.write_commit(conn_, n);
}

void Response::file(const StaticFiles& files, std::string_view url_path, const HttpRequest& request) {
  if (sent_) return;
  sent_ = true;
  std::string out;
  files.serve(request, url_path, out, date_);
  loop_.write(conn_, out);
  if (!request.keep_alive()) keep_alive_ = false;
}

// ---------------------------------------------------------------------------------------------

HttpServerHandler::HttpServerHandler(Loop& loop, const HttpRouter<HttpRoute>& routes, HttpServerOptions options)
    : loop_(loop), routes_(routes), options_(options) {}

HttpServerHandler::~HttpServerHandler() = default;

std::string_view HttpServerHandler::date() {
  const std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    format_http_date(now, std::span<char, 29>(date_, 29));
  }
  return {date_, 29};
}

void HttpServerHandler::arm_idle(Connection& c) { loop_.timers().schedule_in(c.timer, options_.idle_timeout_ms); }

void HttpServerHandler::on_open(Connection& c) {
  static_assert(sizeof(Session) <= 20, "keep the per-connection HTTP state small");
  auto [session, index] = sessions_.alloc();
  session->index = index;
  c.context = session;
  arm_idle(c);
}

void HttpServerHandler::on_close(Connection& c, int) {
  if (auto* s = static_cast<Session*>(c.context)) {
    if (s->pending) pending_.erase(c.index);  // a late answer now finds nothing and is dropped
    if (s->body) bodies_.erase(c.index);
    sessions_.free(s->index);
  }
  c.context = nullptr;
}

void HttpServerHandler::drain() {
  draining_ = true;
  // Idle: no request begun, none awaiting its answer. The others close after their answer.
  loop_.for_each_connection([this](Connection& c) {
    const auto* s = static_cast<const Session*>(c.context);
    if (c.handler == this && s && !s->pending && !s->body && c.leftover_size == 0) loop_.close(c);
  });
}

void HttpServerHandler::on_timeout(Connection& c) {
  const auto* s = static_cast<const Session*>(c.context);
  if (s && s->pending) {
    // RFC 9110 §15.6.4: the answer never came; the connection cannot go on without it.
    reply_error(c, 503);
    return;
  }
  // No complete request in time: mid-head (a slow or stalled client) gets 408; an idle keep-alive
  // connection is simply closed (RFC 9112 §9.5).
  if (c.leftover_size > 0) {
    reply_error(c, 408);
  } else {
    loop_.close(c);
  }
}

void HttpServerHandler::reply_error(Connection& c, int status) {
  std::string out;
  write_simple_response(out, status, "text/plain; charset=utf-8", http_reason_phrase(status), false);
  loop_.write(c, out);
  loop_.close(c);
}

size_t HttpServerHandler::on_data(Connection& c, std::span<uint8_t> data) {
  if (static_cast<Session*>(c.context)->pending) {
    // RFC 9112 §9.3.2: responses go in request order, so later requests wait, unparsed, in the
    // loop's leftover. Past one head's worth the connection is no longer read: a pending connection
    // holds no more input than a request in progress may.
    if (data.size() >= HttpParser::kMaxHeadBytes) loop_.pause_reading(c);
    return 0;
  }
  size_t consumed = 0;
  // Pipelined requests are answered in order, each in full before the next is looked at.
  while (consumed < data.size() && c.is_open() && c.handler == this) {
    Session& s = *static_cast<Session*>(c.context);
    if (s.pending) break;  // the request before waits for its deferred answer
    // Pipelining is no licence to make output without bound: while the answers already queued are
    // over the loop's high-water mark, the requests behind wait unparsed (the loop offers them again
    // once the output drains), so a client that never reads costs one answer past the mark.
    if (loop_.output_full(c)) break;
    const std::span<uint8_t> rest = data.subspan(consumed);
    const size_t used = s.body ? continue_body(c, s, rest) : start_request(c, s, rest);
    if (used == 0) break;  // the rest of the request is still arriving
    consumed += used;
  }
  return consumed;
}

size_t HttpServerHandler::start_request(Connection& c, Session& s, std::span<uint8_t> data) {
  const HttpParseResult head = s.parser.parse(chars(data), request_);
  if (head.status == ParseStatus::incomplete) return 0;
  if (head.status == ParseStatus::error) {
    reply_error(c, head.http_status);
    return data.size();
  }
  const HttpRequest& req = request_;
  const RouteMatch<HttpRoute> match = routes_.match(req.method_id(), req.path());
  // RFC 9110 §9.3.1: a GET's content has no meaning and is a smuggling risk; after a 101 the bytes
  // behind the head are the new protocol's, so content on an upgrade would be frames to whoever
  // disagrees with us on where it ends. Refused before any of it is read.
  if (match.handler && match.handler->upgrade &&
      (req.body_kind() == BodyKind::chunked || (req.body_kind() == BodyKind::length && req.content_length() > 0))) {
    reply_error(c, 400);
    return data.size();
  }
  const uint64_t limit = match.handler && match.handler->max_body ? match.handler->max_body : options_.max_body;
  if (const int status = http_status_for_body(req, limit)) {
    reply_error(c, status);  // 413: the body is not read, so the connection cannot be reused
    return data.size();
  }
  if (req.body_kind() == BodyKind::none) return dispatch(c, s, match, {}, head.header_bytes);

  BodyProgress p{.end = head.header_bytes + req.content_length(),
                 .decoder = ChunkedDecoder(limit),
                 .head_bytes = static_cast<uint32_t>(head.header_bytes),
                 .chunked = req.body_kind() == BodyKind::chunked};
  const BodyRead body = read_body(data, p);
  if (body.status == ChunkedStatus::error) {
    reply_error(c, body.http_status);
    return data.size();
  }
  if (body.status == ChunkedStatus::done) return dispatch(c, s, match, body.body, body.total);
  // RFC 9110 §10.1.1: a client that asked waits for 100 before sending the body.
  if (ascii_iequals(req.header("Expect"), "100-continue") && data.size() == head.header_bytes) {
    loop_.write(c, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  // The body goes on in later reads; the head is parsed again once, when the body is whole.
  s.parser.reset();
  s.body = true;
  bodies_.insert_or_assign(c.index, p);
  return 0;
}

size_t HttpServerHandler::continue_body(Connection& c, Session& s, std::span<uint8_t> data) {
  const auto it = bodies_.find(c.index);
  const BodyRead body = read_body(data, it->second);
  if (body.status == ChunkedStatus::need_more) return 0;
  const size_t head_bytes = it->second.head_bytes;
  bodies_.erase(it);
  s.body = false;
  if (body.status == ChunkedStatus::error) {
    reply_error(c, body.http_status);
    return data.size();
  }
  // The head's bytes are as they were: parsed again, it is the same request.
  [[maybe_unused]] const HttpParseResult head = s.parser.parse(chars(data).substr(0, head_bytes), request_);
  assert(head.status == ParseStatus::complete && head.header_bytes == head_bytes);
  const RouteMatch<HttpRoute> match = routes_.match(request_.method_id(), request_.path());
  return dispatch(c, s, match, body.body, body.total);
}

size_t HttpServerHandler::dispatch(Connection& c, Session& s, const RouteMatch<HttpRoute>& match,
                                   std::string_view body, size_t total) {
  const HttpRequest& req = request_;
  const bool keep_alive = req.keep_alive() && !draining_;
  const bool http10 = req.version() == HttpVersion::http10;
  if (match.status != RouteStatus::found) {
    // These short answers do not say keep-alive, so an HTTP/1.0 connection ends with them.
    const bool keep = keep_alive && !http10;
    std::string out;
    if (match.status == RouteStatus::method_not_allowed) {
      write_method_not_allowed(out, match.allowed, keep);
    } else {
      write_simple_response(out, 404, "text/plain; charset=utf-8", "Not Found", keep);
    }
    loop_.write(c, out);
    if (!keep) loop_.close(c);
    return total;
  }

  Request request(req, match.params, match.tail, body, c.fd);
  Response res(loop_, c, keep_alive, req.method_id() == HttpMethod::head, date(), http10, this);
  const HttpRoute& route = *match.handler;
  if (route.upgrade) {
    loop_.timers().cancel(c.timer);  // the new handler owns the timer from here
    Session* session = &s;
    route.upgrade(c, request, res);
    if (c.handler != this) {
      sessions_.free(session->index);  // handed over: this connection speaks another protocol now
      return total;
    }
  } else {
    route.handler(request, res);
  }
  finish(c, res);
  return total;
}

void HttpServerHandler::finish(Connection& c, Response& res) {
  if (!c.is_open()) return;
  if (res.deferred()) {
    const auto it = pending_.find(c.index);
    if (it != pending_.end()) {
      it->second.keep_alive = res.keep_alive();  // close() may follow defer() in the handler
      // No idle timeout while the answer is awaited; only the safety net.
      if (options_.answer_timeout_ms > 0) {
        loop_.timers().schedule_in(c.timer, options_.answer_timeout_ms);
      } else {
        loop_.timers().cancel(c.timer);
      }
    }
    return;
  }
  if (!res.sent()) res.status(500).send("the handler sent no response");
  if (!res.keep_alive()) {
    loop_.close(c);
  } else {
    arm_idle(c);
  }
}

PendingResponse HttpServerHandler::defer(Connection& c, bool keep_alive, bool head, bool http10) {
  auto* s = static_cast<Session*>(c.context);
  s->pending = true;
  const uint64_t ticket = ++next_ticket_;
  pending_[c.index] = Pending{.conn = &c, .ticket = ticket, .keep_alive = keep_alive, .head = head, .http10 = http10};
  return PendingResponse(loop_.shard(), *this, c.index, ticket);
}

void HttpServerHandler::answer(uint32_t slot, uint64_t ticket, PendingResponse::Answer& answer,
                               PendingResponse::UpgradeAnswer& upgrade) {
  const auto it = pending_.find(slot);
  if (it == pending_.end() || it->second.ticket != ticket) return;  // closed, reused, or answered already
  const Pending p = it->second;
  pending_.erase(it);
  Connection& c = *p.conn;  // open: its close would have erased the record
  Session* session = static_cast<Session*>(c.context);
  session->pending = false;
  Response res(loop_, c, p.keep_alive && !draining_, p.head, date(), p.http10, this);
  if (upgrade) {
    loop_.timers().cancel(c.timer);  // as in dispatch: a handler that takes the connection owns its timer
    upgrade(c, res);
    if (c.handler != this) {
      sessions_.free(session->index);  // handed over (and perhaps closed by its new handler since)
      // What the client sent behind the request waited unparsed in the leftover: it is the new
      // protocol's, and goes to its handler now, before anything read later.
      if (c.is_open()) loop_.resume_reading(c);
      return;
    }
  } else {
    answer(res);
  }
  finish(c, res);
  if (!c.is_open() || c.handler != this || static_cast<Session*>(c.context)->pending) return;
  // The requests that waited behind this one: parse them now, as if they had just arrived.
  loop_.resume_reading(c);
}

}  // namespace ringcast
