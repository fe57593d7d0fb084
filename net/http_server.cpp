#include "net/http_server.hpp"

#include <cstring>
#include <ctime>

#include "net/chunked_decoder.hpp"
#include "net/static_files.hpp"

namespace ringcast {

// Per-connection HTTP state: 16 bytes from the shard's slab.
struct HttpServerHandler::Session {
  HttpParser parser;
  uint32_t index = 0;          // slot in the slab
};

std::string Request::query(std::string_view name) const {
  std::string out;
  http_.query_param(name, out);
  return out;
}

// ---------------------------------------------------------------------------------------------

Response::Response(Loop& loop, Connection& c, bool keep_alive, bool head, std::string_view date, bool http10) noexcept
    : loop_(loop), conn_(c), date_(date), keep_alive_(keep_alive), head_(head), http10_(http10) {}

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
  auto [session, index] = sessions_.alloc();
  session->index = index;
  c.context = session;
  arm_idle(c);
}

void HttpServerHandler::on_close(Connection& c, int) {
  if (auto* s = static_cast<Session*>(c.context)) sessions_.free(s->index);
  c.context = nullptr;
}

void HttpServerHandler::on_timeout(Connection& c) {
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
  std::string_view in(reinterpret_cast<const char*>(data.data()), data.size());
  size_t consumed = 0;
  // Pipelined requests are answered in order, each in full before the next is looked at.
  while (consumed < in.size() && c.is_open() && c.handler == this) {
    Session& s = *static_cast<Session*>(c.context);
    const std::string_view rest = in.substr(consumed);
    const HttpParseResult r = s.parser.parse(rest, request_);
    if (r.status == ParseStatus::incomplete) break;
    if (r.status == ParseStatus::error) {
      reply_error(c, r.http_status);
      return in.size();
    }
    const size_t used = handle_request(c, s, rest, r.header_bytes);
    if (used == 0) break;  // the body is still arriving
    consumed += used;
  }
  return consumed;
}

size_t HttpServerHandler::handle_request(Connection& c, Session& s, std::string_view data, size_t head_bytes) {
  const HttpRequest& req = request_;
  const RouteMatch<HttpRoute> match = routes_.match(req.method_id(), req.path());
  const uint64_t limit = match.handler ? match.handler->max_body : options_.max_body;
  if (const int status = http_status_for_body(req, limit)) {
    reply_error(c, status);  // 413: the body is not read, so the connection cannot be reused
    return data.size();
  }

  // The body: a view into the bytes we have, or (chunked) decoded into the shard's buffer.
  std::string_view body;
  size_t total = head_bytes;
  const bool expects_continue = ascii_iequals(req.header("Expect"), "100-continue");
  if (req.body_kind() == BodyKind::length) {
    if (data.size() - head_bytes < req.content_length()) {
      // RFC 9110 §10.1.1: a client that asked waits for 100 before sending the body. Sent once: the
      // leftover then holds more than the head.
      if (expects_continue && data.size() == head_bytes) loop_.write(c, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
      s.parser.reset();
      return 0;
    }
    body = data.substr(head_bytes, req.content_length());
    total += req.content_length();
  } else if (req.body_kind() == BodyKind::chunked) {
    ChunkedDecoder decoder(limit);
    chunked_body_.clear();
    const ChunkedResult r = decoder.feed(data.substr(head_bytes), chunked_body_);
    if (r.status == ChunkedStatus::error) {
      reply_error(c, r.http_status);
      return data.size();
    }
    if (r.status != ChunkedStatus::done) {
      if (expects_continue && data.size() == head_bytes) loop_.write(c, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
      s.parser.reset();
      return 0;
    }
    body = chunked_body_;
    total += r.consumed;
  }

  const bool keep_alive = req.keep_alive();
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

  Request request(req, match.params, match.tail, body);
  Response res(loop_, c, keep_alive, req.method_id() == HttpMethod::head, date(), http10);
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
  if (!c.is_open()) return total;
  if (!res.sent()) res.status(500).send("the handler sent no response");
  if (!res.keep_alive()) {
    loop_.close(c);
  } else {
    arm_idle(c);
  }
  return total;
}

}  // namespace ringcast
